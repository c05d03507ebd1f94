package setupscript

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testAppID    = "11111111-2222-3333-4444-555555555555"
	testObjectID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
)

func TestOnlineGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		params OnlineParams
	}{
		{"online_group.ps1", OnlineParams{AppID: testAppID, ObjectID: testObjectID, GroupName: "Calendar Sync Users"}},
		{"online_users.ps1", OnlineParams{AppID: testAppID, ObjectID: testObjectID, Users: []string{"alice@example.com", "o'brien@example.com"}, ScopeName: "Sync 'scope'"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := GenerateOnline(&buf, tc.params); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("script differs from %s (go test -update rewrites it):\n%s", path, buf.String())
			}
			out := buf.String()
			for _, must := range []string{"New-ServicePrincipal -AppId $AppId -ObjectId $ObjectId", "'Application Calendars.Read'", "'Application MailboxSettings.Read'",
				"-CustomResourceScope $ScopeName", "Test-ServicePrincipalAuthorization -Identity $AppId"} {
				if !strings.Contains(out, must) {
					t.Errorf("script lacks %q", must)
				}
			}
			if strings.Contains(out, "ApplicationImpersonation") || strings.Contains(out, "New-ApplicationAccessPolicy") {
				t.Error("the Exchange Online script uses RBAC for Applications only")
			}
		})
	}
}

func TestOnlineRefusesBadParams(t *testing.T) {
	err := GenerateOnline(&bytes.Buffer{}, OnlineParams{AppID: "calsync", ObjectID: testObjectID})
	var pe *ParamError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "not a GUID") || !strings.Contains(err.Error(), "whole organisation") {
		t.Fatalf("err = %v, want the app id and the missing group named", err)
	}
}
