package setupscript

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestGolden(t *testing.T) {
	tests := []struct {
		golden string
		params Params
	}{
		{"group_with_policy.ps1", Params{Account: `EXAMPLE\svc-calsync`, GroupName: "Calendar Sync Users", WithThrottlingPolicy: true}},
		{"users_default_policy.ps1", Params{Account: "svc-calsync@example.com", Users: []string{"alice@example.com", "bob@example.com"}, ScopeName: "Sync scope"}},
		{"quoting.ps1", Params{
			Account:              `EXAMPLE\o'brien svc`,
			GroupName:            "Sales ‘EMEA’ & \"Partners\" $(whoami)",
			ScopeName:            "Scope with 'quotes'",
			AssignmentName:       "Assign `tick` $env:USERNAME",
			PolicyName:           "Policy ‚low‛",
			WithThrottlingPolicy: true,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Generate(&buf, tc.params); err != nil {
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
		})
	}
}

// parsePSLiteral decodes a PowerShell single-quoted literal at the start
// of s, returning the value and the rest of s.
func parsePSLiteral(s string) (string, string, bool) {
	isQuote := func(r rune) bool { return strings.ContainsRune("'\u2018\u2019\u201A\u201B", r) }
	rs := []rune(s)
	if len(rs) == 0 || !isQuote(rs[0]) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		if isQuote(rs[i]) {
			if i+1 < len(rs) && isQuote(rs[i+1]) {
				b.WriteRune(rs[i])
				i++
				continue
			}
			return b.String(), string(rs[i+1:]), true
		}
		b.WriteRune(rs[i])
	}
	return "", s, false
}

func TestPSQuoteRoundTrips(t *testing.T) {
	values := []string{
		"plain", "with space", "o'brien", "''", "‘single’ ‚low‛", `"double" $(whoami) $env:PATH ` + "`n", `EXAMPLE\svc`, "",
	}
	for _, v := range values {
		q := PSQuote(v)
		got, rest, ok := parsePSLiteral(q)
		if !ok || got != v || rest != "" {
			t.Errorf("PSQuote(%q) = %s; parses back to %q (rest %q, ok %v)", v, q, got, rest, ok)
		}
	}
	if got := PSQuote("o'brien"); got != "'o''brien'" {
		t.Errorf("PSQuote(o'brien) = %s", got)
	}
}

func TestScriptVariablesHoldTheExactNames(t *testing.T) {
	p := Params{
		Account:   `EXAMPLE\o'brien svc`,
		GroupName: "Sales ‘EMEA’ & \"Partners\" $(whoami)",
		ScopeName: "Scope with 'quotes'",
		Users:     nil,
	}
	var buf bytes.Buffer
	if err := Generate(&buf, p); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"$ServiceAccount": p.Account,
		"$GroupName":      p.GroupName,
		"$ScopeName":      p.ScopeName,
		"$AssignmentName": DefaultAssignmentName,
	}
	got := map[string]string{}
	for _, line := range strings.Split(buf.String(), "\n") {
		name, rhs, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || want[name] == "" {
			continue
		}
		v, rest, ok := parsePSLiteral(strings.TrimSpace(rhs))
		if !ok || strings.TrimSpace(rest) != "" {
			t.Errorf("%s is not one single-quoted literal: %s", name, line)
		}
		got[name] = v
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// Names appear only in the variable block, never spliced elsewhere.
	if n := strings.Count(buf.String(), "whoami"); n != 1 {
		t.Errorf("the group name appears %d times; want only in its variable", n)
	}
}

func TestUsersListQuoted(t *testing.T) {
	var buf bytes.Buffer
	users := []string{"o'neil@example.com", "bob@example.com"}
	if err := Generate(&buf, Params{Account: "svc", Users: users}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, u := range users {
		if !strings.Contains(s, "\n    "+PSQuote(u)+"\n") {
			t.Errorf("user %q not listed as %s", u, PSQuote(u))
		}
	}
	if strings.Contains(s, "Unlimited -") || strings.Contains(s, "= Unlimited") {
		t.Error("the script must never set a limit to Unlimited")
	}
}

func TestScriptContent(t *testing.T) {
	var buf bytes.Buffer
	if err := Generate(&buf, Params{Account: "svc", GroupName: "G", WithThrottlingPolicy: true}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{
		"New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $Filter",
		"MemberOfGroup -eq",
		"New-ManagementRoleAssignment -Name $AssignmentName -Role ApplicationImpersonation -User $ServiceAccount -CustomRecipientWriteScope $ScopeName",
		"New-ThrottlingPolicy -Name $PolicyName",
		"Set-ThrottlingPolicyAssociation -Identity $ServiceAccount -ThrottlingPolicy $PolicyName",
		"does NOT need",
		"Receive-As",
		"Maximum Allowed Sessions Per User",
		"Information Store",
		"Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee $ServiceAccount",
		"Get-ThrottlingPolicyAssociation -Identity $ServiceAccount",
		"-GetEffectiveUsers",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	var noPolicy bytes.Buffer
	if err := Generate(&noPolicy, Params{Account: "svc", GroupName: "G"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(noPolicy.String(), "New-ThrottlingPolicy") || strings.Contains(noPolicy.String(), "$PolicyName") {
		t.Error("throttling policy generated although not requested")
	}
}

func TestInvalidParams(t *testing.T) {
	many := make([]string, maxListedUsers+1)
	for i := range many {
		many[i] = "u@example.com"
	}
	tests := []struct {
		name string
		p    Params
		want string
	}{
		{"no account", Params{GroupName: "G"}, "account is empty"},
		{"no scope", Params{Account: "svc"}, "a group or a list of users is required"},
		{"both", Params{Account: "svc", GroupName: "G", Users: []string{"a@example.com"}}, "not both"},
		{"newline", Params{Account: "svc\nRemove-Mailbox x", GroupName: "G"}, "control character"},
		{"not smtp", Params{Account: "svc", Users: []string{"alice"}}, `user 1 "alice" is not an SMTP address`},
		{"too many", Params{Account: "svc", Users: many}, "put them in a group"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		err := Generate(&buf, tc.p)
		if !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Generate = %v, want ErrInvalidParams containing %q", tc.name, err, tc.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote output despite the error", tc.name)
		}
	}
}
