package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/check"
	"github.com/calsync/calsync/internal/check/checktest"
)

func runCheckMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), Env{Args: append([]string{"check"}, args...), Stdout: &out, Stderr: &errOut})
	return code, out.String(), errOut.String()
}

func TestCheckExitCodes(t *testing.T) {
	healthy := checktest.New(t, 20, nil)
	denied := checktest.New(t, 5, nil)
	if err := denied.Sim.SetImpersonationScope(denied.Sim.ServiceAccount(), denied.Users[:4]); err != nil {
		t.Fatal(err)
	}
	blocked := checktest.New(t, 5, checktest.LoadBalancer(checktest.LBBadGateway))
	pullMode := "  notifications:\n    mode: pull\n"
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("exchange:\n  ews_url: 42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		stdoutHas  string
		stderrHas  string
		stdoutLack string
	}{
		{"healthy", []string{"--no-progress", "--config", healthy.WriteConfig(t, "secret", "")}, 0, "✓ Impersonation   20 of 20 users ok", "", ""},
		{"healthy strict", []string{"--no-progress", "--strict", "--config", healthy.WriteConfig(t, "secret", "")}, 0, "0 failed", "", ""},
		{"out of scope", []string{"--no-progress", "--config", denied.WriteConfig(t, "secret", "")}, 1, "users: " + denied.Users[4], "", ""},
		{"wrong password", []string{"--no-progress", "--config", healthy.WriteConfig(t, "wrong", "")}, 1, "credentials were rejected", "", "wrong"},
		{"streaming blocked", []string{"--no-progress", "--config", blocked.WriteConfig(t, "secret", "")}, 1, "✗ Streaming", "", ""},
		{"streaming blocked, pull configured", []string{"--no-progress", "--config", blocked.WriteConfig(t, "secret", pullMode)}, 0, "! Streaming", "", ""},
		{"streaming blocked, pull configured, strict", []string{"--no-progress", "--strict", "--config", blocked.WriteConfig(t, "secret", pullMode)}, 1, "! Streaming", "", ""},
		{"progress on stderr", []string{"--config", healthy.WriteConfig(t, "secret", "")}, 0, "", "impersonation: 20/20 users checked (100%)", ""},
		{"no config", []string{"--json"}, 2, "", "--config FILE is required", ""},
		{"invalid config", []string{"--config", bad}, 2, "", "exchange.ews_url", ""},
		{"missing config file", []string{"--config", filepath.Join(t.TempDir(), "nope.yaml")}, 2, "", "cannot open the config file", ""},
		{"bad concurrency", []string{"--config", bad, "--concurrency", "100"}, 2, "", "--concurrency 100 out of range", ""},
		{"stray argument", []string{"--config", bad, "now"}, 2, "", "unexpected argument", ""},
		{"unknown flag named", []string{"--bogus"}, 2, "", "calsync check: unknown flag --bogus", ""},
		{"bad auth method", []string{"--config", bad, "--auth-method", "kerberos"}, 2, "", `--auth-method "kerberos": expected basic, ntlm or oauth2`, ""},
		{"auth method overrides the file (basic in the file, the server offers no NTLM)", []string{"--no-progress", "--config", healthy.WriteConfig(t, "secret", ""), "--auth-method", "ntlm"}, 1, "auth ntlm", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCheckMain(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdoutHas) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdoutHas, stdout)
			}
			if !strings.Contains(stderr, tc.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderrHas, stderr)
			}
			if tc.stdoutLack != "" && strings.Contains(stdout+stderr, tc.stdoutLack+"\n") {
				t.Errorf("output contains %q", tc.stdoutLack)
			}
		})
	}
}

func TestCheckFlagsWithoutConfig(t *testing.T) {
	env := checktest.New(t, 3, nil)
	cmd := &checkCommand{lookupEnv: func(name string) (string, bool) {
		return "secret", name == "EWS_PASSWORD"
	}}
	var out, errOut bytes.Buffer
	code := cmd.run(context.Background(), []string{"--json", "--no-progress", "--ews-url", env.Srv.URL + "/EWS/Exchange.asmx",
		"--autodiscover-url", env.Srv.URL + "/autodiscover/autodiscover.svc",
		"--auth-method", "basic", "--username", env.Sim.ServiceAccount(), "--password-env", "EWS_PASSWORD",
		"--users", strings.Join(env.Users, ",")}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", code, out.String(), errOut.String())
	}
	var doc struct {
		Schema string `json:"schema"`
		Users  int    `json:"users"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out.String())
	}
	if doc.Schema != check.SchemaVersion || doc.Users != 3 || doc.Status != "ok" {
		t.Errorf("report = %+v", doc)
	}
	if strings.Contains(out.String(), "secret") {
		t.Errorf("the JSON report contains the password")
	}
	code = cmd.run(context.Background(), []string{"--ews-url", env.Srv.URL + "/EWS/Exchange.asmx", "--password-env", "UNSET", "--users", "a@example.com"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "UNSET is not set") {
		t.Errorf("unset password variable: exit %d, stderr %q", code, errOut.String())
	}
}

// TestCheckTraceFlag: --trace DIR reaches the check and fills the folder.
func TestCheckTraceFlag(t *testing.T) {
	env := checktest.New(t, 2, nil)
	dir := filepath.Join(t.TempDir(), "trace")
	code, stdout, stderr := runCheckMain(t, "--no-progress", "--trace", dir, "--config", env.WriteConfig(t, "secret", ""))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*-Subscribe-response.xml"))
	if err != nil || len(files) == 0 {
		t.Errorf("no Subscribe answer in the trace folder (%v)", err)
	}
}
