// Package checktest holds what the tests of `calsync check` share: a
// simulator over httptest with the check options that reach it, and a
// misbehaving load balancer in front of it. Both the check library's
// tests and the command's tests use it.
package checktest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/check"
)

// Env is a simulator over httptest.
type Env struct {
	Sim   *ewssim.Simulator
	Srv   *httptest.Server
	Users []string
}

// New starts a simulator with n mailboxes on two mailbox servers, Basic
// authentication and the password "secret". wrap, if set, sits in front
// of the simulator (a misbehaving load balancer).
func New(t testing.TB, n int, wrap func(http.Handler) http.Handler) *Env {
	t.Helper()
	return NewWithPassword(t, n, "secret", wrap)
}

// NewWithPassword is New with another password.
func NewWithPassword(t testing.TB, n int, password string, wrap func(http.Handler) http.Handler) *Env {
	t.Helper()
	sim, err := ewssim.New(ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: n, Servers: 2, Seed: 7,
		Password: password, StreamingHeartbeat: time.Hour}, Basic: true})
	if err != nil {
		t.Fatalf("ewssim.New: %v", err)
	}
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		sim.Close()
	})
	var users []string
	for _, m := range sim.Mailboxes() {
		if m != sim.ServiceAccount() {
			users = append(users, m)
		}
	}
	if len(users) != n {
		t.Fatalf("simulator has %d user mailboxes, want %d", len(users), n)
	}
	return &Env{Sim: sim, Srv: srv, Users: users}
}

// Exchange is the exchange section that reaches the simulator with Basic
// authentication and password.
func (e *Env) Exchange(password string) config.Exchange {
	return config.Exchange{
		EWSURL:          e.Srv.URL + "/EWS/Exchange.asmx",
		AutodiscoverURL: e.Srv.URL + "/autodiscover/autodiscover.svc",
		Auth:            config.Auth{Method: config.AuthBasic, Username: e.Sim.ServiceAccount(), Password: config.NewSecret(password, "test")},
	}
}

// Options are check options for every user of the simulator.
func (e *Env) Options(password string) check.Options {
	users := make([]check.User, len(e.Users))
	for i, u := range e.Users {
		users[i] = check.User{SMTP: u}
	}
	return check.Options{
		Exchange:   e.Exchange(password),
		Users:      users,
		Timeout:    10 * time.Second,
		StreamWait: 10 * time.Second,
	}
}

// WriteConfig writes a calsync.yaml for the simulator with the password in
// a file; extra is YAML inserted in the exchange section.
func (e *Env) WriteConfig(t testing.TB, password, extra string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password.txt"), []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var users strings.Builder
	for _, u := range e.Users {
		users.WriteString("    - " + u + "\n")
	}
	yaml := "exchange:\n" +
		"  ews_url: " + e.Srv.URL + "/EWS/Exchange.asmx\n" +
		"  autodiscover_url: " + e.Srv.URL + "/autodiscover/autodiscover.svc\n" +
		"  auth:\n    method: basic\n    username: " + e.Sim.ServiceAccount() + "\n    password_file: password.txt\n" +
		extra +
		"users:\n  static:\n" + users.String()
	path := filepath.Join(dir, "calsync.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
