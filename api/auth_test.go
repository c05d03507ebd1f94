package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apiclient"
)

func TestTokens(t *testing.T) {
	e := newEnv(t, envConfig{tokens: []string{"first-token", "second-token"}})
	tests := []struct {
		name   string
		method string
		path   string
		header string
		want   int
	}{
		{"no token", "GET", "/api/v1/users", "", 401},
		{"wrong token", "GET", "/api/v1/users", "Bearer nope", 401},
		{"token prefix", "GET", "/api/v1/users", "Bearer first", 401},
		{"basic scheme", "GET", "/api/v1/users", "Basic Zmlyc3QtdG9rZW4=", 401},
		{"first token", "GET", "/api/v1/users", "Bearer first-token", 200},
		{"second token, lower-case scheme", "GET", "/api/v1/users", "bearer second-token", 200},
		{"query token refused outside events", "GET", "/api/v1/users?access_token=first-token", "", 401},
		{"mutation without token", "PUT", "/api/v1/users/bob@example.com/override", "", 401},
		{"metrics without token", "GET", "/metrics", "", 401},
		{"events without token", "GET", "/api/v1/events", "", 401},
		{"healthz is public", "GET", "/healthz", "", 200},
		{"readyz is public", "GET", "/readyz", "", 200},
		{"openapi is public", "GET", "/api/v1/openapi.yaml", "", 200},
		{"dashboard assets are public", "GET", "/", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s with %q = %d, want %d", tt.method, tt.path, tt.header, resp.StatusCode, tt.want)
			}
			if tt.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer WWW-Authenticate challenge")
			}
		})
	}

	t.Run("event stream accepts access_token", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events?access_token=second-token", nil)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("events with access_token = %d %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("readyz details only with a token", func(t *testing.T) {
		anon, _ := apiclient.New(e.srv.URL, "", e.srv.Client())
		r, err := anon.Ready(context.Background())
		if err != nil || r.Status != "degraded" || r.ProblemCount != 1 || len(r.Problems) != 0 {
			t.Errorf("anonymous readyz = %+v, %v; want degraded, 1 problem, no details", r, err)
		}
		r, err = e.client.Ready(context.Background())
		if err != nil || len(r.Problems) != 1 || r.Problems[0].User != "carol@example.com" || r.Problems[0].Error.Code != "ErrorServerBusy" {
			t.Errorf("authenticated readyz = %+v, %v; want carol's ErrorServerBusy", r, err)
		}
	})
}

func TestReadyzNotReady(t *testing.T) {
	e := newEnv(t, envConfig{tokens: []string{"tok"}, ready: func(context.Context) error { return errors.New("store at /var/lib/calsync is closed") }})
	anon, _ := apiclient.New(e.srv.URL, "", e.srv.Client())
	r, err := anon.Ready(context.Background())
	if apiclient.StatusOf(err) != http.StatusServiceUnavailable || r.Status != "not_ready" {
		t.Fatalf("readyz = %+v, %v; want 503 not_ready", r, err)
	}
	if strings.Contains(r.Error, "/var/lib") {
		t.Errorf("anonymous readyz reveals internals: %q", r.Error)
	}
	r, _ = e.client.Ready(context.Background())
	if !strings.Contains(r.Error, "store") {
		t.Errorf("authenticated readyz error = %q, want the cause", r.Error)
	}
}

func TestRequireTokensUnlessLoopback(t *testing.T) {
	tests := []struct {
		addr    string
		tokens  []string
		wantErr bool
	}{
		{"127.0.0.1:8080", nil, false},
		{"[::1]:8080", nil, false},
		{"localhost:8080", nil, false},
		{"127.0.0.2:8080", nil, false},
		{":8080", nil, true},
		{"0.0.0.0:8080", nil, true},
		{"[::]:8080", nil, true},
		{"192.0.2.10:8080", nil, true},
		{"calsync.example.com:8080", nil, true},
		{"0.0.0.0:8080", []string{""}, true},
		{"0.0.0.0:8080", []string{"tok"}, false},
		{":8080", []string{"tok"}, false},
	}
	for _, tt := range tests {
		err := api.RequireTokensUnlessLoopback(tt.addr, tt.tokens)
		if (err != nil) != tt.wantErr {
			t.Errorf("RequireTokensUnlessLoopback(%q, %q) = %v, want error %v", tt.addr, tt.tokens, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, api.ErrTokensRequired) {
			t.Errorf("error %v does not wrap ErrTokensRequired", err)
		}
	}
	if err := api.RequireTokensUnlessLoopback("no-port", nil); err == nil || errors.Is(err, api.ErrTokensRequired) {
		t.Errorf("malformed address: err = %v, want a parse error", err)
	}
}
