package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calsync/calsync/config"
)

// The app serves through api.NewServer: its limits hold for `calsync run`
// and `calsync demo` (api/limits_test.go tests each limit).
func TestAPIServerRefusesHugeHeaders(t *testing.T) {
	_, _, a := startApp(t, config.Streaming, 1)
	req, _ := http.NewRequest(http.MethodGet, a.URL()+"healthz", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 900<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("900 KB of headers = %d, want 431", resp.StatusCode)
	}
}

// The config's token roles reach the API: a read token may read and not
// write.
func TestReadTokenFromTheConfig(t *testing.T) {
	const admin, read = "admin-token-0123456789", "read-token-0123456789"
	_, _, a := startAppWithConfig(t, config.Streaming, 1, func(s *appSetup) {
		s.cfg.API.Tokens = []config.Secret{config.NewSecret(admin, "test")}
		s.cfg.API.ReadTokens = []config.Secret{config.NewSecret(read, "test")}
	})
	call := func(method, path, token string) int {
		req, _ := http.NewRequest(method, a.URL()+path, strings.NewReader(`{"availability":"busy"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call("GET", "api/v1/users", read); got != http.StatusOK {
		t.Errorf("GET users with the read token = %d, want 200", got)
	}
	if got := call("PUT", "api/v1/users/user1@example.com/override", read); got != http.StatusForbidden {
		t.Errorf("PUT override with the read token = %d, want 403", got)
	}
	if got := call("PUT", "api/v1/users/user1@example.com/override", admin); got == http.StatusForbidden || got == http.StatusUnauthorized {
		t.Errorf("PUT override with the admin token = %d", got)
	}
}
