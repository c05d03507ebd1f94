package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
)

// TestFlagErrorsNameTheFlag: every command reports a bad command line once,
// naming the flag as its help does (--name), and exits 2 without burying
// the problem under the flag list.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"setup-script"}, "calsync setup-script: --account is required"},
		{[]string{"setup-script", "--account", `EXAMPLE\svc`}, "calsync setup-script: --group or --users is required"},
		{[]string{"setup-script", "--account", "svc", "--group", "G", "--users", "a@example.com"}, "--group and --users exclude each other"},
		{[]string{"setup-script", "--account", "svc", "--users", "alice"}, `calsync setup-script: --users: user 1 "alice" is not an SMTP address`},
		{[]string{"setup-script", "--account", "svc", "--group", "G", "--scope-name", "a\x07b"}, `--scope-name: scope name "a\ab" contains a control character`},
		{[]string{"setup-script", "--acount", "svc"}, "calsync setup-script: unknown flag --acount"},
		{[]string{"setup-script", "--exchange-online", "--group", "G"}, "calsync setup-script: --exchange-online needs --app-id"},
		{[]string{"setup-script", "--exchange-online", "--account", "svc", "--app-id", "x", "--object-id", "y", "--group", "G"}, "--account and --throttling-policy are for Exchange Server"},
		{[]string{"setup-script", "--exchange-online", "--app-id", "calsync", "--object-id", "66666666-7777-8888-9999-aaaaaaaaaaaa", "--group", "G"}, `calsync setup-script: --app-id: "calsync" is not a GUID`},
		{[]string{"run", "--config"}, "calsync run: --config needs a value"},
		{[]string{"demo", "--mailboxes", "many"}, `calsync demo: --mailboxes "many": want a whole number`},
		{[]string{"demo", "--churn", "lots"}, `calsync demo: --churn "lots": want a number`},
		{[]string{"demo", "--mode", "push"}, `calsync demo: --mode "push": want streaming or pull`},
		{[]string{"demo", "--listen", "nonsense"}, `calsync demo: --listen "nonsense": want host:port (port 0 picks a free one)`},
		{[]string{"demo", "--log-level", "loud"}, `calsync demo: --log-level "loud": want debug, info, warn or error`},
		{[]string{"sim", "--heartbeat", "45"}, `calsync sim: --heartbeat "45": want a duration such as 30s, 5m or 1h`},
		{[]string{"sim", "--generate=maybe"}, `calsync sim: --generate "maybe": want true or false`},
		{[]string{"sim", "--servers", "0"}, "calsync sim: --servers 0 out of range 1..100"},
		{[]string{"check", "--bogus"}, "calsync check: unknown flag --bogus"},
		{[]string{"check", "--timeout", "5"}, `calsync check: --timeout "5": want a duration`},
		{[]string{"check"}, "calsync check: --config FILE is required"},
		{[]string{"bench", "--auth", "kerberos"}, `calsync bench: --auth "kerberos": expected basic or ntlm`},
		{[]string{"bench", "--mailboxes", "ten"}, `calsync bench: --mailboxes: "ten" is not a positive number`},
	}
	for _, tc := range tests {
		var stdout, stderr testenv.SyncBuffer
		code := Main(context.Background(), Env{Args: tc.args, Stdout: &stdout, Stderr: &stderr})
		got := stderr.String()
		if code != 2 || !strings.Contains(got, tc.want) {
			t.Errorf("calsync %q: exit %d, stderr:\n%s\nwant exit 2 and %q", tc.args, code, got, tc.want)
			continue
		}
		if n := strings.Count(got, "calsync "+tc.args[0]+":"); n != 1 {
			t.Errorf("calsync %q: the problem is reported %d times:\n%s", tc.args, n, got)
		}
		if strings.Contains(got, "Usage:") || !strings.Contains(got, "Run 'calsync "+tc.args[0]+" --help' for the flags.") {
			t.Errorf("calsync %q: want the problem and a pointer to --help, not the flag list:\n%s", tc.args, got)
		}
		if stdout.String() != "" {
			t.Errorf("calsync %q wrote to stdout: %q", tc.args, stdout.String())
		}
	}
}

// TestHelpListsTheFlags: --help prints the synopsis and every flag with
// two dashes' worth of documentation, and exits 0.
func TestHelpListsTheFlags(t *testing.T) {
	for cmd, flag := range map[string]string{"run": "-config", "demo": "-mailboxes", "sim": "-heartbeat", "check": "-strict",
		"setup-script": "-account", "bench": "-coalesce"} {
		var stdout, stderr testenv.SyncBuffer
		code := Main(context.Background(), Env{Args: []string{cmd, "--help"}, Stdout: &stdout, Stderr: &stderr})
		if code != 0 || !strings.HasPrefix(stderr.String(), "Usage: calsync "+cmd) || !strings.Contains(stderr.String(), flag) {
			t.Errorf("calsync %s --help: exit %d, stderr:\n%s", cmd, code, stderr.String())
		}
	}
}

// calsync setup-script --exchange-online prints the RBAC for Applications
// script for the app and the group.
func TestSetupScriptExchangeOnline(t *testing.T) {
	var stdout, stderr testenv.SyncBuffer
	code := Main(context.Background(), Env{Args: []string{"setup-script", "--exchange-online", "--app-id", "11111111-2222-3333-4444-555555555555",
		"--object-id", "66666666-7777-8888-9999-aaaaaaaaaaaa", "--group", "Calendar Sync Users"}, Stdout: &stdout, Stderr: &stderr})
	out := stdout.String()
	if code != 0 || !strings.Contains(out, "New-ManagementRoleAssignment -App $AppId -Role $Role -CustomResourceScope $ScopeName") ||
		!strings.Contains(out, "$GroupName      = 'Calendar Sync Users'") {
		t.Fatalf("exit %d, stderr %s, stdout:\n%s", code, stderr.String(), out)
	}
}
