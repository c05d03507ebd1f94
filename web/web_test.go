package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calsync/calsync/web"
)

func TestHandlerServesEmbeddedAssets(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	tests := []struct {
		method, path string
		status       int
		contentType  string
		contains     string
	}{
		{"GET", "/", 200, "text/html", `<script src="/static/app.js" type="module"></script>`},
		{"GET", "/index.html", 200, "text/html", "<title>calsync</title>"},
		{"GET", "/static/app.js", 200, "text/javascript", "new EventSource("},
		{"GET", "/static/format.js", 200, "text/javascript", "export function timeText("},
		{"GET", "/static/style.css", 200, "text/css", ".badge.busy"},
		{"GET", "/static/missing.js", 404, "", ""},
		{"GET", "/static/", 404, "", ""},
		{"GET", "/elsewhere", 404, "", ""},
		{"POST", "/", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type = %q, want %s", ct, tt.contentType)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy = %q, want self-only scripts", csp)
			}
		})
	}
}

// The dashboard must not depend on anything outside the binary.
func TestAssetsLoadNothingExternal(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	paths := []string{"/", "/static/style.css"}
	scripts, err := filepath.Glob("static/*.js") // the embedded folder, read from the package directory
	if err != nil || len(scripts) < 2 {
		t.Fatalf("scripts %v: %v", scripts, err)
	}
	for _, s := range scripts {
		paths = append(paths, "/"+s)
	}
	for _, path := range paths {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML"} {
			if strings.Contains(string(body), bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
	}
}
