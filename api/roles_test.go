package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/calsync/calsync/api"
)

const (
	adminToken = "admin-token-0123456789"
	readToken  = "read-token-0123456789"
)

func TestReadTokensMayNotWrite(t *testing.T) {
	e := newEnv(t, envConfig{tokens: []string{adminToken}, readTokens: []string{readToken}})
	writes := []struct{ method, path, body string }{
		{"PUT", "/api/v1/users/bob@example.com/override", `{"availability":"busy"}`},
		{"DELETE", "/api/v1/users/bob@example.com/override", ""},
		{"POST", "/api/v1/users/bob@example.com/sync-now", ""},
		{"POST", "/api/v1/webhooks/dead-letters/1/retry", ""},
		{"POST", "/api/v1/webhooks/dead-letters/retry", ""},
	}
	for _, w := range writes {
		e.token = readToken
		resp, data := e.do(t, w.method, w.path, w.body)
		if resp.StatusCode != http.StatusForbidden || errorCode(t, data) != "forbidden" || !strings.Contains(string(data), "admin") {
			t.Errorf("%s %s with a read token = %d %s, want 403 forbidden naming the role needed", w.method, w.path, resp.StatusCode, data)
		}
		e.token = adminToken
		if resp, data := e.do(t, w.method, w.path, w.body); resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
			t.Errorf("%s %s with an admin token = %d %s", w.method, w.path, resp.StatusCode, data)
		}
	}
	e.token = readToken
	for _, path := range []string{"/api/v1/users", "/api/v1/sync", "/api/v1/users/alice@example.com/agenda", "/metrics"} {
		if resp, data := e.do(t, "GET", path, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a read token = %d %s, want 200", path, resp.StatusCode, data)
		}
	}
	if resp, data := e.do(t, "POST", "/api/v1/users/alice@example.com/dry-run", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("a dry run (it changes nothing) with a read token = %d %s, want 200", resp.StatusCode, data)
	}
}

func TestMeTellsTheRole(t *testing.T) {
	me := func(t *testing.T, e *env) string {
		t.Helper()
		resp, data := e.do(t, "GET", "/api/v1/me", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/me = %d %s", resp.StatusCode, data)
		}
		var doc struct {
			Role string `json:"role"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Role
	}
	e := newEnv(t, envConfig{tokens: []string{adminToken}, readTokens: []string{readToken}})
	e.token = readToken
	if got := me(t, e); got != "read" {
		t.Errorf("role of a read token = %q, want read", got)
	}
	e.token = adminToken
	if got := me(t, e); got != "admin" {
		t.Errorf("role of an admin token = %q, want admin", got)
	}
	e.token = ""
	if resp, _ := e.do(t, "GET", "/api/v1/me", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me without a token = %d, want 401", resp.StatusCode)
	}
	open := newEnv(t, envConfig{})
	if doc, err := open.client.Me(t.Context()); err != nil || doc.Role != api.RoleAdmin {
		t.Errorf("role on an open API (no tokens) = %q, %v; want admin", doc.Role, err)
	}
}
