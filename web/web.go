// Package web is calsync's dashboard: static HTML, CSS and JavaScript
// embedded in the binary (no front-end build chain, no CDN). It talks to the
// REST API and the event stream of package api with the token the user
// enters, kept in the browser's sessionStorage.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var assets embed.FS

// contentSecurityPolicy allows only the dashboard's own scripts, styles and
// API calls.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the dashboard: index.html at "/" and the assets it loads
// under "/static/". Unknown paths answer 404.
func Handler() http.Handler {
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic("web: embedded static folder missing: " + err.Error()) // impossible: checked at build time by go:embed
	}
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		switch {
		case r.URL.Path == "/" || r.URL.Path == "/index.html":
			h.Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, static, "index.html")
		case strings.HasPrefix(r.URL.Path, "/static/") && !strings.HasSuffix(r.URL.Path, "/"):
			h.Set("Cache-Control", "no-cache")
			http.StripPrefix("/static", files).ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}
