package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// TokenQueryParam is the query parameter that carries the API token on the
// event stream, because browsers' EventSource cannot set headers. It is
// accepted on GET /api/v1/events only.
const TokenQueryParam = "access_token"

// authenticator checks bearer tokens in constant time. Tokens are kept as
// SHA-256 digests so that every comparison has the same length.
type authenticator struct {
	digests [][sha256.Size]byte
}

func newAuthenticator(tokens []string) *authenticator {
	a := &authenticator{}
	for _, t := range tokens {
		if t == "" {
			continue
		}
		a.digests = append(a.digests, sha256.Sum256([]byte(t)))
	}
	return a
}

// open reports whether no token is configured (no authentication).
func (a *authenticator) open() bool { return len(a.digests) == 0 }

// valid reports whether token is one of the configured tokens. It compares
// against every token so that the time does not depend on which matched.
func (a *authenticator) valid(token string) bool {
	if token == "" {
		return false
	}
	d := sha256.Sum256([]byte(token))
	match := 0
	for i := range a.digests {
		match |= subtle.ConstantTimeCompare(d[:], a.digests[i][:])
	}
	return match == 1
}

// bearerToken extracts the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):])
	}
	return ""
}

// authorize wraps a handler with the token check of its route.
func (s *server) authorize(rt route, next http.HandlerFunc) http.HandlerFunc {
	if rt.public {
		return next
	}
	allowQuery := rt.path == "/api/v1/events"
	return func(w http.ResponseWriter, r *http.Request) {
		if s.auth.open() {
			next(w, r)
			return
		}
		token := bearerToken(r)
		if token == "" && allowQuery {
			token = r.URL.Query().Get(TokenQueryParam)
		}
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="calsync"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "an API token is required (Authorization: Bearer <token>)")
			return
		}
		if !s.auth.valid(token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="calsync", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "the API token is not valid")
			return
		}
		next(w, r)
	}
}

// authenticated reports whether the request carries a valid token, or no
// token is configured. Public routes use it to decide how much to reveal.
func (s *server) authenticated(r *http.Request) bool {
	return s.auth.open() || s.auth.valid(bearerToken(r))
}

// ErrTokensRequired is returned by RequireTokensUnlessLoopback.
var ErrTokensRequired = errors.New("api: API tokens are required when listening beyond loopback")

// RequireTokensUnlessLoopback returns an error wrapping ErrTokensRequired
// when no token is configured and addr ("host:port") would accept
// connections from other machines: an empty host, a wildcard address or a
// non-loopback address. With at least one token any address is accepted.
func RequireTokensUnlessLoopback(addr string, tokens []string) error {
	for _, t := range tokens {
		if t != "" {
			return nil
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("api: listen address %q: %w", addr, err)
	}
	if isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("%w: listen address %q is not loopback; configure api tokens or listen on 127.0.0.1", ErrTokensRequired, addr)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
