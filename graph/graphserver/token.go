package graphserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Entra ID v2.0 token endpoint for the client credentials grant
// (graph-facts §1): form POST, scope https://graph.microsoft.com/.default,
// a client secret (body or HTTP Basic) or a JWT client assertion signed
// with a registered certificate; no refresh token.

const (
	graphDefaultScope = "https://graph.microsoft.com/.default"
	assertionType     = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	maxFormBody       = 64 << 10
)

// tokenPath matches /{tenant}/oauth2/v2.0/token.
func tokenPath(p string) (tenant string, ok bool) {
	rest, found := strings.CutSuffix(p, "/oauth2/v2.0/token")
	if !found || !strings.HasPrefix(rest, "/") || strings.Count(rest, "/") != 1 || len(rest) < 2 {
		return "", false
	}
	return rest[1:], true
}

// tokenStore signs and verifies access tokens. Tokens are JWT-shaped and
// carry their expiry, signed with a key of the server: nothing is kept per
// token, and rotating the key revokes every issued token at once.
type tokenStore struct {
	mu  sync.RWMutex
	key []byte
}

func newTokenStore() *tokenStore {
	t := &tokenStore{}
	t.rotate()
	return t
}

func (t *tokenStore) rotate() {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	t.mu.Lock()
	t.key = k
	t.mu.Unlock()
}

type accessClaims struct {
	Aud   string   `json:"aud"`
	Iss   string   `json:"iss"`
	Iat   int64    `json:"iat"`
	Nbf   int64    `json:"nbf"`
	Exp   int64    `json:"exp"`
	AppID string   `json:"appid"`
	Tid   string   `json:"tid"`
	Roles []string `json:"roles"`
	Jti   string   `json:"uti"`
}

func (t *tokenStore) sign(c accessClaims) string {
	head := b64json(map[string]string{"typ": "JWT", "alg": "HS256"})
	body := b64json(c)
	t.mu.RLock()
	mac := hmac.New(sha256.New, t.key)
	t.mu.RUnlock()
	mac.Write([]byte(head + "." + body))
	return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

var (
	errTokenMalformed = errors.New("malformed")
	errTokenExpired   = errors.New("expired")
)

func (t *tokenStore) verify(token string, now time.Time) (accessClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return accessClaims{}, errTokenMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return accessClaims{}, errTokenMalformed
	}
	t.mu.RLock()
	mac := hmac.New(sha256.New, t.key)
	t.mu.RUnlock()
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return accessClaims{}, errTokenMalformed
	}
	var c accessClaims
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return accessClaims{}, errTokenMalformed
	}
	if now.Unix() >= c.Exp || now.Unix() < c.Nbf-300 {
		return c, errTokenExpired
	}
	return c, nil
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// aadError is an Entra ID error answer.
type aadError struct {
	status int
	err    string // error
	code   int    // AADSTS number
	text   string
}

type aadErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

func aadErr(status int, errName string, code int, format string, args ...any) *aadError {
	return &aadError{status: status, err: errName, code: code, text: fmt.Sprintf(format, args...)}
}

func (s *Server) writeAADError(w http.ResponseWriter, r *http.Request, e *aadError) {
	trace, corr := newGUID(), r.Header.Get("client-request-id")
	if corr == "" {
		corr = newGUID()
	}
	ts := s.realTime.Now().UTC()
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.code, e.text, trace, corr, ts.Format("2006-01-02 15:04:05Z"))
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("x-ms-request-id", trace)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, _ := json.Marshal(aadErrorBody{Error: e.err, ErrorDescription: desc, ErrorCodes: []int{e.code},
		Timestamp: ts.Format("2006-01-02 15:04:05Z"), TraceID: trace, CorrelationID: corr,
		ErrorURI: "https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.code)})
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

type tokenAnswer struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

// serveToken is POST /{tenant}/oauth2/v2.0/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		s.writeAADError(w, r, aadErr(http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a %s request.", r.Method))
		return
	}
	if !strings.EqualFold(tenant, s.opts.Tenant) && !strings.EqualFold(tenant, s.tenantID) {
		s.writeAADError(w, r, aadErr(http.StatusBadRequest, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", clip(tenant, 100)))
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		s.writeAADError(w, r, aadErr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		s.writeAADError(w, r, aadErr(http.StatusBadRequest, "invalid_request", 900144, "The request body is not a valid form (or is larger than %d bytes).", maxFormBody))
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	switch {
	case grant == "":
		s.writeAADError(w, r, aadErr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."))
		return
	case grant != "client_credentials":
		s.writeAADError(w, r, aadErr(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", clip(grant, 60)))
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if clientID == "" {
		s.writeAADError(w, r, aadErr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."))
		return
	}
	if !strings.EqualFold(clientID, s.opts.ClientID) {
		s.writeAADError(w, r, aadErr(http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'.", clip(clientID, 60), s.opts.Tenant))
		return
	}
	if e := s.checkScope(f.Get("scope")); e != nil {
		s.writeAADError(w, r, e)
		return
	}
	switch {
	case secret != "":
		if s.opts.ClientSecret == "" || !hmac.Equal([]byte(secret), []byte(s.opts.ClientSecret)) {
			s.writeAADError(w, r, aadErr(http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", s.opts.ClientID))
			return
		}
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != assertionType {
			s.writeAADError(w, r, aadErr(http.StatusBadRequest, "invalid_request", 50027, "client_assertion_type must be '%s'.", assertionType))
			return
		}
		if e := s.checkAssertion(f.Get("client_assertion"), tokenAudiences(r, tenant)); e != nil {
			s.writeAADError(w, r, e)
			return
		}
	default:
		s.writeAADError(w, r, aadErr(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."))
		return
	}
	now := s.now()
	tok := s.tokens.sign(accessClaims{Aud: "https://graph.microsoft.com", Iss: "https://sts.windows.net/" + s.tenantID + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(s.opts.TokenLifetime).Unix(), AppID: s.opts.ClientID, Tid: s.tenantID,
		Roles: []string{"Calendars.Read", "MailboxSettings.Read"}, Jti: newGUID()})
	secs := int(s.opts.TokenLifetime / time.Second)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, _ := json.Marshal(tokenAnswer{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok})
	_, _ = w.Write(b)
}

// checkScope accepts exactly Graph's .default scope: app-only tokens take
// no other, and scopes of two resources in one request are an error.
func (s *Server) checkScope(scope string) *aadError {
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		return aadErr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	for _, f := range fields {
		if f != graphDefaultScope && f != "00000003-0000-0000-c000-000000000000/.default" {
			return aadErr(http.StatusBadRequest, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid: client credentials take %s.", clip(f, 100), graphDefaultScope)
		}
	}
	return nil
}

// tokenAudiences are the aud values a client assertion may carry: this
// endpoint's own URL (the simulator's) and the public one.
func tokenAudiences(r *http.Request, tenant string) []string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := "/" + tenant + "/oauth2/v2.0/token"
	return []string{scheme + "://" + r.Host + path, "https://login.microsoftonline.com" + path}
}

// clip shortens client input echoed in errors.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
