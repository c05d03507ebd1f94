package graphclient

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

func TestTokenSecretSharedAndRenewedBeforeExpiry(t *testing.T) {
	f := newFakeGraph(t)
	clk := clock.NewFake(t0)
	ts, err := NewTokenSource(f.creds(), &TokenOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = ts.Token(ctxT(t))
		}()
	}
	wg.Wait()
	for _, g := range got {
		if g != "tok1" {
			t.Fatalf("tokens = %v, want all tok1 from one request", got)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("%d token requests for 20 concurrent callers, want 1", n)
	}
	form := f.tokenForm.Load().(url.Values)
	for k, want := range map[string]string{"grant_type": "client_credentials", "client_id": "client-1",
		"client_secret": "s3cret", "scope": "https://graph.microsoft.com/.default"} {
		if form.Get(k) != want {
			t.Errorf("token form %s = %q, want %q", k, form.Get(k), want)
		}
	}
	clk.Advance(50 * time.Minute) // before the renewal point (55 min of 3599 s)
	if tok, _ := ts.Token(ctxT(t)); tok != "tok1" || f.tokenCalls.Load() != 1 {
		t.Fatalf("at 50 min: %q after %d requests, want tok1 reused", tok, f.tokenCalls.Load())
	}
	clk.Advance(6 * time.Minute) // past renewal, before expiry: renewed in the background
	if tok, _ := ts.Token(ctxT(t)); tok != "tok1" {
		t.Fatalf("at 56 min: %q, want tok1 while it is still valid", tok)
	}
	testenv.WaitFor(t, "the renewed token", func() bool { tok, _ := ts.Token(ctxT(t)); return tok == "tok2" })
	if n := f.tokenCalls.Load(); n != 2 {
		t.Errorf("%d token requests after one renewal, want 2", n)
	}
	ts.Invalidate("tok1") // stale: keeps tok2
	if tok, _ := ts.Token(ctxT(t)); tok != "tok2" {
		t.Fatalf("after invalidating an old token: %q", tok)
	}
	ts.Invalidate("tok2")
	if tok, _ := ts.Token(ctxT(t)); tok != "tok3" {
		t.Fatalf("after invalidating the current token: %q", tok)
	}
}

func TestTokenRejectedIsCredentialsWithoutTheSecret(t *testing.T) {
	f := newFakeGraph(t)
	f.tokenAnswer = func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 401, map[string]any{"error": "invalid_client",
			"error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2",
			"error_codes":       []int{7000215}, "timestamp": "2026-12-07 08:00:00Z", "trace_id": "1", "correlation_id": "2"})
	}
	ts, _ := NewTokenSource(f.creds(), nil)
	_, err := ts.Token(ctxT(t))
	var te *graph.TokenError
	if !errorsAs(err, &te) || te.Code != "invalid_client" || len(te.AADSTS) != 1 || te.AADSTS[0] != 7000215 {
		t.Fatalf("err = %#v", err)
	}
	if graph.Classify(err) != graph.ClassCredentials {
		t.Errorf("class = %s", graph.Classify(err))
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("secret in error: %v", err)
	}
	if !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("error %q does not name the AADSTS code", err)
	}
}

func TestTokenEndpointDownIsTransient(t *testing.T) {
	f := newFakeGraph(t)
	f.tokenAnswer = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }
	ts, _ := NewTokenSource(f.creds(), nil)
	_, err := ts.Token(ctxT(t))
	if graph.Classify(err) != graph.ClassTransient {
		t.Errorf("class of %v = %s, want transient", err, graph.Classify(err))
	}
}

func TestCredentialsValidation(t *testing.T) {
	cert, key := testCert(t)
	for _, tc := range []struct {
		c    Credentials
		want string
	}{
		{Credentials{ClientID: "c", ClientSecret: "s"}, "tenant id is empty"},
		{Credentials{TenantID: "t", ClientSecret: "s"}, "client id is empty"},
		{Credentials{TenantID: "t", ClientID: "c"}, "neither a client secret nor a certificate"},
		{Credentials{TenantID: "t", ClientID: "c", ClientSecret: "s", Certificate: cert, Key: key}, "both"},
		{Credentials{TenantID: "t", ClientID: "c", Certificate: cert}, "needs both"},
		{Credentials{TenantID: "t", ClientID: "c", ClientSecret: "s", LoginURL: "login.example"}, "not an absolute"},
	} {
		_, err := NewTokenSource(tc.c, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), `"s"`) {
			t.Errorf("secret in %v", err)
		}
	}
}

func TestCertificateAssertion(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		f := newFakeGraph(t)
		cert, key := testCert(t)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		lc, lk, err := LoadCertificate(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cr := Credentials{TenantID: "tenant", ClientID: "client-1", Certificate: lc, Key: lk, LoginURL: f.srv.URL, LegacyRS256: legacy}
		clk := clock.NewFake(time.Now())
		ts, err := NewTokenSource(cr, &TokenOptions{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Token(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		form := f.tokenForm.Load().(url.Values)
		if form.Get("client_secret") != "" || form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			t.Fatalf("form = %v", form)
		}
		parts := strings.Split(form.Get("client_assertion"), ".")
		if len(parts) != 3 {
			t.Fatalf("assertion has %d parts", len(parts))
		}
		var header map[string]string
		var claims map[string]any
		mustJSON(t, parts[0], &header)
		mustJSON(t, parts[1], &claims)
		s256 := sha256.Sum256(cert.Raw)
		wantAlg := "PS256"
		if legacy {
			wantAlg = "RS256"
		}
		if header["alg"] != wantAlg || header["typ"] != "JWT" || header["x5t#S256"] != base64.RawURLEncoding.EncodeToString(s256[:]) || header["x5t"] == "" {
			t.Errorf("header = %v", header)
		}
		if claims["aud"] != cr.TokenURL() || claims["iss"] != "client-1" || claims["sub"] != "client-1" || claims["jti"] == "" {
			t.Errorf("claims = %v", claims)
		}
		if nbf, exp := claims["nbf"].(float64), claims["exp"].(float64); exp-nbf != 300 || int64(nbf) != clk.Now().Unix() {
			t.Errorf("nbf %v exp %v", nbf, exp)
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		if legacy {
			err = rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig)
		} else {
			err = rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		if err != nil {
			t.Errorf("signature (legacy=%v): %v", legacy, err)
		}
	}
}

func TestLoadCertificateSaysWhatIsWrong(t *testing.T) {
	if _, _, err := LoadCertificate([]byte("junk"), []byte("junk")); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("junk: %v", err)
	}
}

func testCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "calsync test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func mustJSON(t *testing.T, part string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// A caller whose context ends stops waiting for the token request; the
// request itself goes on for the others.
func TestTokenWaitEndsWithTheCallersContext(t *testing.T) {
	f := newFakeGraph(t)
	release := make(chan struct{})
	f.tokenAnswer = func(w http.ResponseWriter, _ *http.Request) {
		<-release
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "late"})
	}
	ts, _ := NewTokenSource(f.creds(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := ts.Token(ctx); done <- err }()
	testenv.WaitFor(t, "the token request", func() bool { return f.tokenCalls.Load() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(release)
	if tok, err := ts.Token(ctxT(t)); tok != "late" || err != nil || f.tokenCalls.Load() != 1 {
		t.Errorf("after the request finished: %q %v (%d requests)", tok, err, f.tokenCalls.Load())
	}
}

// A failing token endpoint is not asked again by every caller as soon as
// the last request failed (Entra throttles such loops): the next request
// waits 1 s, then 2 s, …; callers meanwhile get the last failure, and a
// token still valid is kept while its renewal fails.
func TestFailedTokenRequestsBackOff(t *testing.T) {
	f := newFakeGraph(t)
	var down atomic.Bool
	down.Store(true)
	f.tokenAnswer = func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(503)
			return
		}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "tok"})
	}
	clk := clock.NewFake(t0)
	ts, err := NewTokenSource(f.creds(), &TokenOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := ts.Token(ctxT(t)); graph.Classify(err) != graph.ClassTransient {
			t.Fatalf("call %d: %v, want the endpoint's failure", i, err)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("%d token requests for 10 calls within a second of a failure, want 1", n)
	}
	clk.Advance(time.Second)
	_, _ = ts.Token(ctxT(t))
	clk.Advance(time.Second) // the second pause is 2 s
	_, _ = ts.Token(ctxT(t))
	if n := f.tokenCalls.Load(); n != 2 {
		t.Fatalf("%d token requests after 1 s and 2 s, want 2", n)
	}
	down.Store(false)
	clk.Advance(time.Second)
	if tok, err := ts.Token(ctxT(t)); tok != "tok" || err != nil {
		t.Fatalf("after the endpoint is back: %q, %v", tok, err)
	}

	// The renewal fails: the valid token is kept, without a request per call.
	down.Store(true)
	calls := f.tokenCalls.Load()
	clk.Advance(56 * time.Minute) // past the renewal point, before expiry
	testenv.WaitFor(t, "the failed renewal", func() bool {
		tok, err := ts.Token(ctxT(t))
		if tok != "tok" || err != nil {
			t.Fatalf("during a failing renewal: %q, %v", tok, err)
		}
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return ts.failures == 1 && ts.inflight == nil
	})
	for range 10 {
		_, _ = ts.Token(ctxT(t))
	}
	if n := f.tokenCalls.Load() - calls; n != 1 {
		t.Errorf("%d token requests during a failing renewal within its pause, want 1", n)
	}
}
