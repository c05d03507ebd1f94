package api

import (
	"context"
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

// Role is what a token may do.
type Role string

const (
	// RoleRead may read everything (presence, agenda, sync state, dead
	// letters, metrics, the event stream, dry runs) and change nothing.
	RoleRead Role = "read"
	// RoleAdmin may also write: overrides, sync-now, dead-letter re-sends.
	RoleAdmin Role = "admin"
)

// authenticator checks bearer tokens in constant time. Tokens are kept as
// SHA-256 digests so that every comparison has the same length.
type authenticator struct {
	digests [][sha256.Size]byte
	roles   []Role
}

func newAuthenticator(admin, read []string) *authenticator {
	a := &authenticator{}
	add := func(tokens []string, role Role) {
		for _, t := range tokens {
			if t == "" {
				continue
			}
			a.digests = append(a.digests, sha256.Sum256([]byte(t)))
			a.roles = append(a.roles, role)
		}
	}
	add(admin, RoleAdmin)
	add(read, RoleRead)
	return a
}

// open reports whether no token is configured (no authentication).
func (a *authenticator) open() bool { return len(a.digests) == 0 }

// role returns the role of token; ok is false for an unknown token. It
// compares against every token so that the time does not depend on which
// matched. A token listed with both roles gets the lesser.
func (a *authenticator) role(token string) (role Role, ok bool) {
	if token == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(token))
	admin, read := 0, 0
	for i := range a.digests {
		m := subtle.ConstantTimeCompare(d[:], a.digests[i][:])
		if a.roles[i] == RoleAdmin {
			admin |= m
		} else {
			read |= m
		}
	}
	switch {
	case read == 1:
		return RoleRead, true
	case admin == 1:
		return RoleAdmin, true
	}
	return "", false
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
		role, ok := s.auth.role(token)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="calsync", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "the API token is not valid")
			return
		}
		if rt.write && role != RoleAdmin {
			writeError(w, http.StatusForbidden, codeForbidden, "this API token has the role "+string(role)+" and may not change anything; "+rt.method+" "+rt.path+" needs a token with the role admin")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), roleKey{}, role)))
	}
}

// roleKey carries the caller's role in the request context.
type roleKey struct{}

// requestRole is the role of an authorized request: admin when no token is
// configured (the API is open, on loopback only).
func requestRole(r *http.Request) Role {
	if role, ok := r.Context().Value(roleKey{}).(Role); ok {
		return role
	}
	return RoleAdmin
}

// authenticated reports whether the request carries a valid token, or no
// token is configured. Public routes use it to decide how much to reveal.
func (s *server) authenticated(r *http.Request) bool {
	if s.auth.open() {
		return true
	}
	_, ok := s.auth.role(bearerToken(r))
	return ok
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

// MeDoc is the document of GET /api/v1/me: what the caller's token may do,
// so that the dashboard offers only what will be accepted.
type MeDoc struct {
	Role Role `json:"role"`
}

func (s *server) handleMe(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, MeDoc{Role: requestRole(r)})
}
