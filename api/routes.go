package api

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// route is one registered endpoint. The route table is the single source
// for the mux, the Allow header of 405 answers and the OpenAPI coverage test.
type route struct {
	method string
	path   string // ServeMux path pattern, e.g. /api/v1/users/{user}/presence
	// public routes need no token.
	public bool
	// write routes change state: they need a token with the role admin.
	write bool
	// stream routes answer for as long as the client listens (SSE): the
	// server's read and write deadlines are lifted for them.
	stream  bool
	handler http.HandlerFunc
}

func (s *server) routeTable() []route {
	rs := []route{
		{method: http.MethodGet, path: "/healthz", public: true, handler: s.handleHealthz},
		{method: http.MethodGet, path: "/readyz", public: true, handler: s.handleReadyz},
		{method: http.MethodGet, path: "/metrics", handler: s.handleMetrics},
		{method: http.MethodGet, path: "/api/v1/openapi.yaml", public: true, handler: s.handleOpenAPI},
		{method: http.MethodGet, path: "/api/v1/me", handler: s.handleMe},
		{method: http.MethodGet, path: "/api/v1/users", handler: s.handleListUsers},
		{method: http.MethodGet, path: "/api/v1/users/{user}/presence", handler: s.handlePresence},
		{method: http.MethodGet, path: "/api/v1/users/{user}/agenda", handler: s.handleAgenda},
		{method: http.MethodGet, path: "/api/v1/users/{user}/sync", handler: s.handleUserSync},
		{method: http.MethodPost, path: "/api/v1/users/{user}/sync-now", write: true, handler: s.handleSyncNow},
		{method: http.MethodPut, path: "/api/v1/users/{user}/override", write: true, handler: s.handleSetOverride},
		{method: http.MethodDelete, path: "/api/v1/users/{user}/override", write: true, handler: s.handleClearOverride},
		{method: http.MethodPost, path: "/api/v1/users/{user}/dry-run", handler: s.handleDryRun},
		{method: http.MethodGet, path: "/api/v1/sync", handler: s.handleSync},
		{method: http.MethodGet, path: "/api/v1/webhooks/dead-letters", handler: s.handleDeadLetters},
		{method: http.MethodPost, path: "/api/v1/webhooks/dead-letters/{id}/retry", write: true, handler: s.handleRetryDeadLetter},
		{method: http.MethodPost, path: "/api/v1/webhooks/dead-letters/retry", write: true, handler: s.handleRetryDeadLetters},
		{method: http.MethodGet, path: "/api/v1/connectors", handler: s.handleConnectors},
		{method: http.MethodGet, path: "/api/v1/events", stream: true, handler: s.handleEvents},
	}
	return rs
}

// buildMux registers the route table on a ServeMux. For every path it also
// registers a method-less fallback that answers 405 in JSON with an Allow
// header, and a JSON 404 for unknown paths under /api/.
func (s *server) buildMux() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range s.routes {
		h := s.instrument(rt, s.authorize(rt, liftDeadlines(rt, rt.handler)))
		mux.Handle(rt.method+" "+rt.path, h)
		if _, seen := allowed[rt.path]; !seen {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
		if rt.method == http.MethodGet {
			allowed[rt.path] = append(allowed[rt.path], http.MethodHead)
		}
	}
	for _, p := range paths {
		methods := allowed[p]
		sort.Strings(methods)
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed here; allowed: "+allow)
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such endpoint: "+r.URL.Path)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Dashboard == nil {
			writeError(w, http.StatusNotFound, codeNotFound, "no dashboard is served by this instance")
			return
		}
		s.opts.Dashboard.ServeHTTP(w, r)
	})
	return securityHeaders(mux)
}

// securityHeaders sets headers every response should carry.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// RouteInfo names one endpoint registered by New.
type RouteInfo struct {
	Method string
	// Path is the ServeMux pattern path, e.g. /api/v1/users/{user}/presence.
	Path string
	// Public routes need no token.
	Public bool
}

// Routes lists the endpoints New registers; the OpenAPI coverage test and
// the documentation use it.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range (&server{}).routeTable() {
		out = append(out, RouteInfo{Method: rt.method, Path: rt.path, Public: rt.public})
	}
	return out
}

// liftDeadlines clears the connection's read and write deadlines (set from
// the server's ReadTimeout and WriteTimeout) for a stream route: an event
// stream lives for hours. It runs after authorization, so an unauthorized
// client still meets the deadlines.
func liftDeadlines(rt route, next http.HandlerFunc) http.HandlerFunc {
	if !rt.stream {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// Errors mean the writer has no deadlines to lift (tests' recorders).
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		next(w, r)
	}
}
