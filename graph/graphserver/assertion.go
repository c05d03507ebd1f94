package graphserver

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as the SHA-1 thumbprint; it names a certificate, it does not secure anything.
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// checkAssertion verifies a client assertion (graph-facts §1): a JWT
// whose header names a registered certificate by x5t#S256 (SHA-256) or x5t
// (SHA-1) thumbprint, signed PS256 or RS256 with its key, whose claims
// are aud = the token endpoint, iss = sub = client id, a jti, and a
// current nbf…exp. Assertion times are compared with the real clock: the
// client signs with its own wall time, whatever the simulator's clock says.
func (s *Server) checkAssertion(jwt string, audiences []string) *aadError {
	bad := func(code int, text string) *aadError {
		return aadErr(http.StatusUnauthorized, "invalid_client", code, "%s", text)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return aadErr(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	var head struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud any    `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Jti string `json:"jti"`
		Nbf int64  `json:"nbf"`
		Exp int64  `json:"exp"`
	}
	if !decodeSegment(parts[0], &head) || !decodeSegment(parts[1], &claims) {
		return aadErr(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	cert := s.certificateFor(head.X5t, head.X5tS256)
	if cert == nil {
		return bad(700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad(700027, "Client assertion failed signature validation: the registered certificate has no RSA key.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return bad(700027, "Client assertion failed signature validation.")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch head.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return bad(700027, "Client assertion failed signature validation: algorithm "+clip(head.Alg, 20)+" is not supported (PS256 or RS256).")
	}
	if err != nil {
		return bad(700027, "Client assertion failed signature validation.")
	}
	if !audienceMatches(claims.Aud, audiences) {
		return bad(700212, "No matching federated identity record found for presented assertion audience; the client assertion's aud must be the token endpoint "+audiences[0]+".")
	}
	if !strings.EqualFold(claims.Iss, s.opts.ClientID) || !strings.EqualFold(claims.Sub, s.opts.ClientID) {
		return bad(700021, "Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must be the client id.")
	}
	if claims.Jti == "" {
		return aadErr(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed: the jti claim is missing.")
	}
	now := s.realTime.Now().Unix()
	const skew = 300
	if claims.Exp == 0 || now > claims.Exp+skew || now < claims.Nbf-skew {
		return bad(700024, "Client assertion is not within its valid time range.")
	}
	if !s.assertionSeen.firstUse(claims.Jti, time.Unix(claims.Exp+skew, 0), s.realTime.Now()) {
		return bad(700025, "Client assertion has already been used (its jti was seen before); sign a new one with a new jti.")
	}
	return nil
}

func decodeSegment(seg string, v any) bool {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	return err == nil && json.Unmarshal(raw, v) == nil
}

func audienceMatches(aud any, want []string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(want, a)
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	}
	return false
}

// certificateFor finds a registered certificate by thumbprint.
func (s *Server) certificateFor(x5t, x5tS256 string) *x509.Certificate {
	for _, c := range s.opts.Certificates {
		if x5tS256 != "" {
			sum := sha256.Sum256(c.Raw)
			if x5tS256 == base64.RawURLEncoding.EncodeToString(sum[:]) {
				return c
			}
		}
		if x5t != "" {
			sum := sha1.Sum(c.Raw) //nolint:gosec // thumbprint, see import
			// RFC 7515 says base64url; some libraries send standard base64.
			for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
				if x5t == enc.EncodeToString(sum[:]) {
					return c
				}
			}
		}
	}
	return nil
}

// jtiLog remembers assertion ids until they expire, so an assertion
// cannot be replayed.
type jtiLog struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (l *jtiLog) firstUse(jti string, until, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]time.Time{}
	}
	if len(l.seen) > 10000 {
		for k, exp := range l.seen {
			if now.After(exp) {
				delete(l.seen, k)
			}
		}
	}
	if _, dup := l.seen[jti]; dup {
		return false
	}
	l.seen[jti] = until
	return true
}
