package app

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/calsync/calsync/store/pgstore"
)

// headerForwarded marks a request one instance forwarded to another; it is
// never forwarded again (no loops while ownership moves).
const headerForwarded = "X-Calsync-Forwarded-By"

// forwardToOwner wraps the API handler of a cluster member: a write or
// preview for one user (override, sync-now, dry-run) that another
// instance owns is forwarded, Authorization included, to that instance's
// API, which answers it with its live state. Everything else is answered
// here (reads answer for every mailbox: sharedReads).
func (a *App) forwardToOwner(next http.Handler) http.Handler {
	if a.cluster == nil {
		return next
	}
	pg := a.store.(*pgstore.Store)
	self := a.cfg.Cluster.InstanceID
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := forwardedUser(r)
		if !ok || r.Header.Get(headerForwarded) != "" || !a.known.has(user) || a.cluster.owned.has(user) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		owner, apiURL, err := pg.OwnerAPI(ctx, user)
		cancel()
		target, perr := url.Parse(apiURL)
		if owner == self {
			next.ServeHTTP(w, r) // taken over since the check above
			return
		}
		if err != nil || owner == "" || apiURL == "" || perr != nil {
			// Nobody owns it right now (a handover, or the owner died and
			// its lease has not expired): answering here would plan the
			// user on a second instance.
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"the user's mailbox is moving between calsync instances; retry in a few seconds"}}` + "\n"))
			return
		}
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Header.Set(headerForwarded, self)
			},
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				a.log.Warn("forwarding a request to the owning instance failed", "user", user, "owner", owner, "err", err)
				http.Error(w, `{"error":{"code":"unavailable","message":"the instance that syncs this user (`+owner+`) did not answer; retry"}}`, http.StatusBadGateway)
			},
		}
		proxy.ServeHTTP(w, r)
	})
}

// forwardedUser returns the user of the requests that need the owner:
// PUT/DELETE …/override, POST …/sync-now, POST …/dry-run.
func forwardedUser(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/users/")
	if !ok {
		return "", false
	}
	user, action, ok := strings.Cut(rest, "/")
	if !ok || user == "" {
		return "", false
	}
	switch {
	case action == "override" && (r.Method == http.MethodPut || r.Method == http.MethodDelete),
		action == "sync-now" && r.Method == http.MethodPost,
		action == "dry-run" && r.Method == http.MethodPost:
	default:
		return "", false
	}
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	return strings.ToLower(user), true
}

// advertisedURL is where the other instances reach this API: the
// configured cluster.api_url, else this listener's port on the host name
// when it listens on every address.
func (a *App) advertisedURL() string {
	if a.cfg.Cluster.APIURL != "" {
		return a.cfg.Cluster.APIURL
	}
	u, err := url.Parse(a.URL())
	if err != nil {
		return ""
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return strings.TrimRight(a.URL(), "/")
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			u.Host = net.JoinHostPort(h, port)
		}
	}
	return strings.TrimRight(u.String(), "/")
}
