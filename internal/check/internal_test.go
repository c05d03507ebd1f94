package check

import (
	"bytes"
	"strings"
	"testing"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/ewsschema"
)

// The authentication probe is a request calsync sends to a real Exchange:
// it must be valid against Microsoft's schema.
func TestProbeRequestIsSchemaValid(t *testing.T) {
	for _, v := range []ews.ExchangeVersion{ews.Exchange2013SP1, ews.Exchange2016} {
		ewsschema.Validate(t, "GetServerTimeZones probe "+string(v), probeRequest(v))
	}
}

func TestProgress(t *testing.T) {
	var tty bytes.Buffer
	p := newProgress(&tty, true, "impersonation", 4)
	for range 4 {
		p.step()
	}
	p.done()
	out := tty.String()
	for _, s := range []string{"\rimpersonation [", "] 0/4", "] 2/4", "[" + strings.Repeat("#", progressWidth) + "] 4/4", "\r\033[K"} {
		if !strings.Contains(out, s) {
			t.Errorf("terminal progress lacks %q: %q", s, out)
		}
	}
	if strings.Contains(out, "\n") {
		t.Errorf("terminal progress writes new lines: %q", out)
	}

	var log bytes.Buffer
	p = newProgress(&log, false, "impersonation", 25)
	for range 25 {
		p.step()
	}
	p.done()
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 11 || lines[0] != "impersonation: 0/25 users checked (0%)" || lines[10] != "impersonation: 25/25 users checked (100%)" {
		t.Errorf("log progress = %q, want 11 lines from 0%% to 100%%", lines)
	}

	newProgress(nil, true, "x", 3).step() // no writer: no output, no panic
}

func TestListUsers(t *testing.T) {
	var users []string
	for i := range 13 {
		users = append(users, "u"+string(rune('a'+i))+"@example.com")
	}
	tests := []struct {
		n    int
		want string
	}{
		{1, "ua@example.com"},
		{10, "ua@example.com, ub@example.com, uc@example.com, ud@example.com, ue@example.com, uf@example.com, ug@example.com, uh@example.com, ui@example.com, uj@example.com"},
		{13, "ua@example.com, ub@example.com, uc@example.com, ud@example.com, ue@example.com, uf@example.com, ug@example.com, uh@example.com, ui@example.com, uj@example.com and 3 more"},
	}
	for _, tc := range tests {
		if got := listUsers(users[:tc.n]); got != tc.want {
			t.Errorf("listUsers(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestAccountCommands(t *testing.T) {
	tests := []struct {
		account, pipe string
	}{
		{`EXAMPLE\svc-calsync`, "Get-ADUser -Identity 'svc-calsync'"},
		{"svc-calsync@example.com", "Get-ADUser -Filter 'UserPrincipalName -eq ''svc-calsync@example.com'''"},
		{"o'brien", "Get-ADUser -Identity 'o''brien'"},
		{"", "Get-ADUser -Identity <service account>"},
	}
	for _, tc := range tests {
		if got := adUserPipe(tc.account); got != tc.pipe {
			t.Errorf("adUserPipe(%q) = %q, want %q", tc.account, got, tc.pipe)
		}
	}
}

func TestVersionCheck(t *testing.T) {
	tests := []struct {
		version ews.ServerVersionInfo
		fault   string
		status  Status
		product string
	}{
		{ews.ServerVersionInfo{MajorVersion: 15, MinorVersion: 1, MajorBuildNumber: 2507, MinorBuildNumber: 39}, "", StatusOK, "Exchange Server 2016"},
		{ews.ServerVersionInfo{MajorVersion: 15, MinorVersion: 2, MajorBuildNumber: 1544, MinorBuildNumber: 4, Version: "V2017_07_11"}, "", StatusOK, "Exchange Server 2019 or Exchange Server SE"},
		{ews.ServerVersionInfo{MajorVersion: 15, MinorVersion: 20, MajorBuildNumber: 8000}, "", StatusOK, "Exchange Online"},
		{ews.ServerVersionInfo{MajorVersion: 15, MinorVersion: 0, MajorBuildNumber: 1497}, "", StatusWarn, "Exchange Server 2013"},
		{ews.ServerVersionInfo{MajorVersion: 14, MinorVersion: 3}, "", StatusWarn, "Exchange older than 2013"},
	}
	for _, tc := range tests {
		r := &runner{opts: Options{Exchange: config.Exchange{ServerVersion: string(ews.Exchange2016)}}, probe: probeResult{done: true, version: &tc.version, faultCode: tc.fault}}
		res := r.checkVersion(t.Context())
		if res.Status != tc.status || res.Facts["product"] != tc.product {
			t.Errorf("%s: %s %q, want %s %q", tc.version, res.Status, res.Facts["product"], tc.status, tc.product)
		}
	}
	r := &runner{opts: Options{Exchange: config.Exchange{ServerVersion: string(ews.Exchange2016)}}, probe: probeResult{done: true, faultCode: "ErrorInvalidServerVersion"}}
	if res := r.checkVersion(t.Context()); res.Status != StatusFail || !strings.Contains(strings.Join(res.Fix, ""), "Exchange2013_SP1") {
		t.Errorf("refused version = %+v", res)
	}
	r = &runner{probe: probeResult{done: true}}
	if res := r.checkVersion(t.Context()); res.Status != StatusWarn {
		t.Errorf("no ServerVersionInfo = %+v", res)
	}
}
