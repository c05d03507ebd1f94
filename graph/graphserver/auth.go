package graphserver

import (
	"errors"
	"net/http"
	"strings"
)

const wwwAuthenticate = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`

// authenticate checks the bearer token of a Graph request: 401
// InvalidAuthenticationToken for a missing, foreign or expired one.
func (s *Server) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	fail := func(msg string) *apiError {
		e := errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "%s", msg)
		e.authHeader = wwwAuthenticate
		return e
	}
	if h == "" || strings.TrimSpace(tok) == "" {
		return fail("Access token is empty.")
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return fail("Access token validation failure: the Authorization header must be 'Bearer <token>'.")
	}
	if s.faults.takeUnauthorized() {
		return fail("Access token has expired or is not yet valid.")
	}
	_, err := s.tokens.verify(strings.TrimSpace(tok), s.now())
	switch {
	case errors.Is(err, errTokenExpired):
		return fail("Access token has expired or is not yet valid.")
	case err != nil:
		return fail("Access token validation failure. Invalid audience or signature.")
	}
	return nil
}
