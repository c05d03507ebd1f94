package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/check"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
)

// writeConfig writes a calsync.yaml for env with the password in a file.
func writeConfig(t *testing.T, env *simEnv, password, extra string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password.txt"), []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var users strings.Builder
	for _, u := range env.users {
		users.WriteString("    - " + u + "\n")
	}
	yaml := "exchange:\n" +
		"  ews_url: " + env.srv.URL + "/EWS/Exchange.asmx\n" +
		"  autodiscover_url: " + env.srv.URL + "/autodiscover/autodiscover.svc\n" +
		"  auth:\n    method: basic\n    username: " + env.sim.ServiceAccount() + "\n    password_file: password.txt\n" +
		extra +
		"users:\n  static:\n" + users.String()
	path := filepath.Join(dir, "calsync.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = check.Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMainExitCodes(t *testing.T) {
	healthy := newSim(t, 20, nil)
	denied := newSim(t, 5, nil)
	if err := denied.sim.SetImpersonationScope(denied.sim.ServiceAccount(), denied.users[:4]); err != nil {
		t.Fatal(err)
	}
	blocked := newSim(t, 5, loadBalancer(lbBadGateway))
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
		{"healthy", []string{"--no-progress", "--config", writeConfig(t, healthy, "secret", "")}, 0, "✓ Impersonation   20 of 20 users ok", "", ""},
		{"healthy strict", []string{"--no-progress", "--strict", "--config", writeConfig(t, healthy, "secret", "")}, 0, "0 failed", "", ""},
		{"out of scope", []string{"--no-progress", "--config", writeConfig(t, denied, "secret", "")}, 1, "users: " + denied.users[4], "", ""},
		{"wrong password", []string{"--no-progress", "--config", writeConfig(t, healthy, "wrong", "")}, 1, "credentials were rejected", "", "wrong"},
		{"streaming blocked", []string{"--no-progress", "--config", writeConfig(t, blocked, "secret", "")}, 1, "✗ Streaming", "", ""},
		{"streaming blocked, pull configured", []string{"--no-progress", "--config", writeConfig(t, blocked, "secret", pullMode)}, 0, "! Streaming", "", ""},
		{"streaming blocked, pull configured, strict", []string{"--no-progress", "--strict", "--config", writeConfig(t, blocked, "secret", pullMode)}, 1, "! Streaming", "", ""},
		{"progress on stderr", []string{"--config", writeConfig(t, healthy, "secret", "")}, 0, "", "impersonation: 20/20 users checked (100%)", ""},
		{"no config", []string{"--json"}, 2, "", "--config FILE is required", ""},
		{"invalid config", []string{"--config", bad}, 2, "", "exchange.ews_url", ""},
		{"missing config file", []string{"--config", filepath.Join(t.TempDir(), "nope.yaml")}, 2, "", "cannot open the config file", ""},
		{"bad concurrency", []string{"--config", bad, "--concurrency", "100"}, 2, "", "--concurrency 100 out of range", ""},
		{"stray argument", []string{"--config", bad, "now"}, 2, "", "unexpected argument", ""},
		{"unknown flag reported once", []string{"--bogus"}, 2, "", "flag provided but not defined: -bogus", "calsync check: flag provided"},
		{"bad auth method", []string{"--config", bad, "--auth-method", "kerberos"}, 2, "", `--auth-method "kerberos": expected basic, ntlm or oauth2`, ""},
		{"auth method overrides the file (basic in the file, the server offers no NTLM)", []string{"--no-progress", "--config", writeConfig(t, healthy, "secret", ""), "--auth-method", "ntlm"}, 1, "auth ntlm", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.args...)
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

func TestMainFlagsWithoutConfig(t *testing.T) {
	env := newSim(t, 3, nil)
	cmd := &check.Command{LookupEnv: func(name string) (string, bool) {
		return "secret", name == "EWS_PASSWORD"
	}}
	var out, errOut bytes.Buffer
	code := cmd.Run(context.Background(), []string{"--json", "--no-progress", "--ews-url", env.srv.URL + "/EWS/Exchange.asmx",
		"--autodiscover-url", env.srv.URL + "/autodiscover/autodiscover.svc",
		"--auth-method", "basic", "--username", env.sim.ServiceAccount(), "--password-env", "EWS_PASSWORD",
		"--users", strings.Join(env.users, ",")}, &out, &errOut)
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
	code = cmd.Run(context.Background(), []string{"--ews-url", env.srv.URL + "/EWS/Exchange.asmx", "--password-env", "UNSET", "--users", "a@example.com"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "UNSET is not set") {
		t.Errorf("unset password variable: exit %d, stderr %q", code, errOut.String())
	}
}

func TestTLSCertificate(t *testing.T) {
	sim, err := ewsmem.NewSimulator(ewsmem.SimulatorOptions{Options: ewsmem.Options{Mailboxes: 3, Generate: true, Password: "secret"}, Basic: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sim)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	srv.StartTLS()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); sim.Close() })
	o := check.Options{EWSURL: srv.URL + "/EWS/Exchange.asmx", Method: check.AuthBasic, Username: sim.ServiceAccount(), Password: "secret",
		Users: []check.User{{SMTP: "user1@example.com"}, {SMTP: "user2@example.com"}}, Timeout: 10 * time.Second, StreamWait: 10 * time.Second}

	rep := run(t, o)
	tl := result(t, rep, check.IDTLS)
	if tl.Status != check.StatusFail || !strings.Contains(tl.Summary, "unknown authority") || !strings.Contains(strings.Join(tl.Fix, " "), "exchange.tls.ca_file") {
		t.Fatalf("TLS = %s: %s %q", tl.Status, tl.Summary, tl.Fix)
	}
	if strings.Contains(strings.Join(tl.Fix, " "), "insecure") {
		t.Errorf("the fix suggests disabling verification: %q", tl.Fix)
	}
	if a := result(t, rep, check.IDAuthentication); a.Status != check.StatusSkip {
		t.Errorf("authentication = %s, want skipped after the TLS failure", a.Status)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	o.CAFile = caFile
	rep = run(t, o)
	if rep.Status != check.StatusOK {
		t.Errorf("with the CA file: status %s\n%s", rep.Status, text(t, rep))
	}
	if tl := result(t, rep, check.IDTLS); tl.Status != check.StatusOK || tl.Facts["tls_version"] == "" {
		t.Errorf("TLS = %+v", tl)
	}

	o.CAFile = ""
	o.InsecureSkipVerify = true
	rep = run(t, o)
	if tl := result(t, rep, check.IDTLS); tl.Status != check.StatusWarn || !strings.Contains(strings.Join(tl.Fix, " "), "exchange.tls.ca_file") {
		t.Errorf("insecure TLS = %+v", tl)
	}
}

// TestUnreachable checks the connectivity failure on a closed port.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	rep := run(t, check.Options{EWSURL: url + "/EWS/Exchange.asmx", Method: check.AuthBasic, Username: "svc", Password: "x",
		Users: []check.User{{SMTP: "a@example.com"}}, Timeout: 5 * time.Second})
	c := result(t, rep, check.IDConnectivity)
	if c.Status != check.StatusFail || !strings.Contains(c.Summary, "TCP: cannot connect") {
		t.Errorf("connectivity = %s: %s", c.Status, c.Summary)
	}
	if a := result(t, rep, check.IDImpersonation); a.Status != check.StatusSkip {
		t.Errorf("impersonation = %s, want skipped", a.Status)
	}
}
