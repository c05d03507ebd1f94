package graphserver_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/graph/graphserver"
)

type aadError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	Timestamp        string `json:"timestamp"`
}

func wantAAD(t *testing.T, status int, body []byte, wantStatus int, wantErr string, code int) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	var a aadError
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	if a.Error != wantErr || len(a.ErrorCodes) != 1 || a.ErrorCodes[0] != code || a.TraceID == "" || a.CorrelationID == "" || a.Timestamp == "" {
		t.Fatalf("error %+v, want %s/%d with trace, correlation and timestamp", a, wantErr, code)
	}
	if !strings.HasPrefix(a.ErrorDescription, "AADSTS") {
		t.Fatalf("description %q does not start with AADSTS", a.ErrorDescription)
	}
	if strings.Contains(string(body), secret) {
		t.Fatalf("the client secret appears in the error: %s", body)
	}
}

func creds(extra ...string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"https://graph.microsoft.com/.default"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func TestTokenWithSecret(t *testing.T) {
	e := newEnv(t, 1, nil)
	status, body := e.form("/"+tenant+"/oauth2/v2.0/token", creds("client_secret", secret))
	var tok struct {
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		ExtExpiresIn int    `json:"ext_expires_in"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tok); status != 200 || err != nil {
		t.Fatalf("%d %s", status, body)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 3599 || tok.ExtExpiresIn != 3599 || tok.AccessToken == "" || tok.RefreshToken != "" {
		t.Fatalf("token answer %+v", tok)
	}
	// HTTP Basic (RFC 6749 §2.3.1) works as well.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(creds().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("basic: %d", resp.StatusCode)
	}
}

func TestTokenErrors(t *testing.T) {
	e := newEnv(t, 1, nil)
	path := "/" + tenant + "/oauth2/v2.0/token"
	status, body := e.form(path, creds("client_secret", "wrong"))
	wantAAD(t, status, body, 401, "invalid_client", 7000215)
	status, body = e.form("/other.onmicrosoft.com/oauth2/v2.0/token", creds("client_secret", secret))
	wantAAD(t, status, body, 400, "invalid_request", 90002)
	status, body = e.form(path, creds("client_secret", secret, "scope", "https://graph.microsoft.com/Calendars.Read"))
	wantAAD(t, status, body, 400, "invalid_scope", 70011)
	status, body = e.form(path, creds("client_secret", secret, "client_id", "someone-else"))
	wantAAD(t, status, body, 400, "unauthorized_client", 700016)
	status, body = e.form(path, creds("client_secret", secret, "grant_type", "password"))
	wantAAD(t, status, body, 400, "unsupported_grant_type", 70003)
	status, body = e.form(path, creds())
	wantAAD(t, status, body, 401, "invalid_client", 7000218)
	status, body = e.form(path, url.Values{"junk": {strings.Repeat("x", 70<<10)}})
	wantAAD(t, status, body, 400, "invalid_request", 900144)
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET token: %d", resp.StatusCode)
	}
}

// newCert makes a self-signed RSA certificate.
func newCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "calsync"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// assertion signs a client assertion; alg is RS256 or PS256.
func assertion(t *testing.T, cert *x509.Certificate, key *rsa.PrivateKey, alg, aud, jti string, exp time.Time) string {
	t.Helper()
	sum := sha256.Sum256(cert.Raw)
	head, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])})
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"aud": aud, "iss": clientID, "sub": clientID, "jti": jti, "nbf": now.Unix(), "iat": now.Unix(), "exp": exp.Unix()})
	signing := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestTokenWithCertificateAssertion(t *testing.T) {
	cert, key := newCert(t)
	_, otherKey := newCert(t)
	e := newEnv(t, 1, func(o *graphserver.Options) { o.ClientSecret = ""; o.Certificates = []*x509.Certificate{cert} })
	path := "/" + tenant + "/oauth2/v2.0/token"
	aud := e.srv.URL + path
	soon := time.Now().Add(5 * time.Minute)
	send := func(jwt string) (int, []byte) {
		return e.form(path, creds("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", jwt))
	}
	for _, alg := range []string{"PS256", "RS256"} {
		if status, body := send(assertion(t, cert, key, alg, aud, "jti-"+alg, soon)); status != 200 {
			t.Fatalf("%s: %d %s", alg, status, body)
		}
	}
	status, body := send(assertion(t, cert, key, "PS256", aud, "jti-PS256", soon))
	wantAAD(t, status, body, 401, "invalid_client", 700025) // replayed jti
	status, body = send(assertion(t, cert, otherKey, "PS256", aud, "jti-2", soon))
	wantAAD(t, status, body, 401, "invalid_client", 700027) // wrong key
	status, body = send(assertion(t, cert, key, "PS256", "https://elsewhere/token", "jti-3", soon))
	wantAAD(t, status, body, 401, "invalid_client", 700212)
	status, body = send(assertion(t, cert, key, "PS256", aud, "jti-4", time.Now().Add(-time.Hour)))
	wantAAD(t, status, body, 401, "invalid_client", 700024)
	status, body = send("not.a.jwt.at.all")
	wantAAD(t, status, body, 400, "invalid_request", 50027)
	// No secret is registered: a secret is refused.
	status, body = e.form(path, creds("client_secret", secret))
	wantAAD(t, status, body, 401, "invalid_client", 7000215)
}

func TestBearerTokens(t *testing.T) {
	e := newEnv(t, 1, nil)
	path := "/v1.0/users/user1@example.com/calendarView?" + window
	e.token = ""
	resp := e.do(http.MethodGet, path, "")
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	wantError(t, resp, 401, "InvalidAuthenticationToken")
	e.token = "eyJ0eXAiOiJKV1QifQ.eyJ4IjoxfQ.c2ln"
	wantError(t, e.do(http.MethodGet, path, ""), 401, "InvalidAuthenticationToken")
	e.token = e.getToken()
	var p page
	e.get(path, &p)
	// The token expires with the model's clock.
	e.clk.Advance(time.Hour)
	ge := wantError(t, e.do(http.MethodGet, path, ""), 401, "InvalidAuthenticationToken")
	if !strings.Contains(ge.Error.Message, "expired") {
		t.Fatalf("message %q does not say expired", ge.Error.Message)
	}
	e.token = e.getToken()
	e.get(path, &p)
	e.graph.RevokeTokens()
	wantError(t, e.do(http.MethodGet, path, ""), 401, "InvalidAuthenticationToken")
}
