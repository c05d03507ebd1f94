package ewsclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"golang.org/x/oauth2"
	oauth2cc "golang.org/x/oauth2/clientcredentials"
)

func clientFor(t *testing.T, h http.Handler, opts *ewsclient.Options) *ewsclient.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if opts == nil {
		opts = &ewsclient.Options{}
	}
	if opts.HTTPClient == nil {
		hc, err := ewsclient.NewHTTPClient(nil)
		if err != nil {
			t.Fatal(err)
		}
		opts.HTTPClient = hc
	}
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func unsubscribeOK() []byte {
	r := &ewswire.UnsubscribeResponse{}
	r.ResponseMessages.Messages = []ewswire.ResponseMessage{ewswire.Success()}
	b, _ := ewswire.Marshal(nil, r)
	return b
}

// TestErrorClassification maps server answers to the error taxonomy.
func TestErrorClassification(t *testing.T) {
	fault := func(code ews.ResponseCode, values map[string]string) []byte {
		var buf bytes.Buffer
		_ = ewswire.EncodeFault(&buf, ewswire.NewFault(code, "text", values))
		return buf.Bytes()
	}
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      []byte
		check     func(error) bool
		retry     bool
		retryWait time.Duration
	}{
		{"ok", 200, nil, unsubscribeOK(), func(err error) bool { return err == nil }, false, 0},
		{"500 with a normal response", 500, nil, unsubscribeOK(), func(err error) bool { return err == nil }, false, 0},
		{"server busy fault", 500, nil, fault(ews.ErrorServerBusy, map[string]string{"BackOffMilliseconds": "297749"}),
			func(err error) bool {
				var f *ews.SOAPFault
				return errors.As(err, &f) && f.StatusCode == 500 && ews.IsCode(err, ews.ErrorServerBusy)
			}, true, 297749 * time.Millisecond},
		{"impersonation fault", 500, nil, fault(ews.ErrorImpersonateUserDenied, nil), func(err error) bool { return ews.IsCode(err, ews.ErrorImpersonateUserDenied) }, false, 0},
		{"unauthorized", 401, map[string]string{"WWW-Authenticate": "Basic"}, nil,
			func(err error) bool { var h *ews.HTTPError; return errors.As(err, &h) && h.Unauthorized() }, false, 0},
		{"forbidden", 403, nil, []byte("EWS is disabled"), func(err error) bool {
			var h *ews.HTTPError
			return errors.As(err, &h) && h.Forbidden() && h.Body == "EWS is disabled"
		}, false, 0},
		{"body-less 503", 503, map[string]string{"Retry-After": "7"}, nil,
			func(err error) bool { var h *ews.HTTPError; return errors.As(err, &h) && h.Unavailable() }, true, 7 * time.Second},
		{"redirect to error page", 302, map[string]string{"Location": "/ews/genericerrorpage.htm?aspxerrorpath=/EWS/Exchange.asmx"}, nil,
			func(err error) bool {
				var h *ews.HTTPError
				return errors.As(err, &h) && strings.Contains(h.Location, "genericerrorpage")
			}, false, 0},
		{"500 html", 500, nil, []byte("<html><body>Runtime Error</body></html>"), func(err error) bool { var h *ews.HTTPError; return errors.As(err, &h) && h.StatusCode == 500 }, true, 0},
		{"200 html login page", 200, nil, []byte("<html><body>Sign in</body></html>"), func(err error) bool { return errors.As(err, new(*ews.ProtocolError)) }, false, 0},
		{"inner server busy", 200, nil, func() []byte {
			r := &ewswire.UnsubscribeResponse{}
			r.ResponseMessages.Messages = []ewswire.ResponseMessage{{ResponseClass: "Error", ResponseCode: "ErrorInternalServerError", MessageXml: ewswire.MessageXml{"InnerErrorResponseCode": "ErrorServerBusy", "BackOffMilliseconds": "1000"}}}
			b, _ := ewswire.Marshal(nil, r)
			return b
		}(), func(err error) bool { return ews.IsCode(err, ews.ErrorServerBusy) }, true, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write(tt.body)
			}), nil)
			err := c.Unsubscribe(context.Background(), ewsclient.ActAs("alice@contoso.com"), "sub")
			if !tt.check(err) {
				t.Fatalf("Unsubscribe() = %#v", err)
			}
			wait, retry := ews.RetryAfter(err)
			if retry != tt.retry || wait != tt.retryWait {
				t.Fatalf("RetryAfter(%v) = %v, %v; want %v, %v", err, wait, retry, tt.retryWait, tt.retry)
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := ewsclient.New(url+"/EWS/Exchange.asmx", &ewsclient.Options{})
	err := c.Unsubscribe(context.Background(), ewsclient.Call{}, "sub")
	var ne *ews.NetworkError
	if !errors.As(err, &ne) || !ews.Retryable(err) {
		t.Fatalf("Unsubscribe(closed server) = %#v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = c.Unsubscribe(ctx, ewsclient.Call{}, "sub")
	if !errors.Is(err, context.Canceled) || ews.Retryable(err) {
		t.Fatalf("Unsubscribe(cancelled) = %#v", err)
	}
}

// TestEndlessBody: a server that never stops sending is cut off at the
// size limit with a protocol error.
func TestEndlessBody(t *testing.T) {
	c := clientFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:UnsubscribeResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>`))
		chunk := bytes.Repeat([]byte("<m:x>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</m:x>"), 1000)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}), &ewsclient.Options{MaxResponseBytes: 2 << 20})
	err := c.Unsubscribe(context.Background(), ewsclient.Call{}, "sub")
	if !errors.Is(err, ewswire.ErrTooLarge) || !errors.As(err, new(*ews.ProtocolError)) {
		t.Fatalf("Unsubscribe(endless body) = %v", err)
	}
}

func TestAuthDecoratorsAndTrace(t *testing.T) {
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
		_, _ = w.Write(unsubscribeOK())
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	var trace bytes.Buffer
	basic := ewsclient.BasicAuth(srv.Client(), `CONTOSO\svc`, "S3cret!pw")
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: basic, Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unsubscribe(context.Background(), ewsclient.ActAs("alice@contoso.com"), "sub"); err != nil {
		t.Fatal(err)
	}
	bearer := ewsclient.OAuth2(srv.Client(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJtoken", TokenType: "Bearer"}))
	c2, _ := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: bearer, Trace: &trace})
	if err := c2.Unsubscribe(context.Background(), ewsclient.ActAs("alice@contoso.com"), "sub"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(seen[0], "Basic ") || seen[1] != "Bearer eyJtoken" {
		t.Fatalf("Authorization headers = %v", seen)
	}
	out := trace.String()
	if strings.Contains(out, "S3cret") || strings.Contains(out, "eyJtoken") || strings.Contains(out, seen[0][6:]) {
		t.Fatalf("trace leaks credentials:\n%s", out)
	}
	if !strings.Contains(out, "X-Anchormailbox: alice@contoso.com") || !strings.Contains(out, "<<< 200 OK") || !strings.Contains(out, "Unsubscribe") {
		t.Fatalf("trace lacks the exchange:\n%s", out)
	}
}

// TestNTLMStartsHandshake checks that NTLMAuth answers an NTLM challenge
// with a Type 1 (negotiate) message.
func TestNTLMStartsHandshake(t *testing.T) {
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		w.Header().Set("WWW-Authenticate", "NTLM")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	tr, err := ewsclient.NewTransport(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := ewsclient.NTLMAuth(tr, `CONTOSO\svc`, "pw")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: hc})
	err = c.Unsubscribe(context.Background(), ewsclient.Call{}, "sub")
	var he *ews.HTTPError
	if !errors.As(err, &he) || !he.Unauthorized() {
		t.Fatalf("Unsubscribe() = %v, want HTTP 401", err)
	}
	found := false
	for _, a := range auths {
		if strings.HasPrefix(a, "NTLM TlRMTVNTUAAB") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no NTLM negotiate message sent: %q", auths)
	}
	if _, err := ewsclient.NTLMAuth(nil, "u", "p"); err == nil {
		t.Fatal("NTLMAuth(nil transport) = nil error")
	}
}

func TestTransportOptions(t *testing.T) {
	if _, err := ewsclient.NewHTTPClient(&ewsclient.TransportOptions{CAPEM: []byte("not a certificate")}); err == nil {
		t.Fatal("NewHTTPClient(bad CA) = nil error")
	}
	if _, err := ewsclient.NewHTTPClient(&ewsclient.TransportOptions{CAFile: "/nonexistent/ca.pem"}); err == nil {
		t.Fatal("NewHTTPClient(missing CA file) = nil error")
	}
	tr, err := ewsclient.NewTransport(nil)
	if err != nil || tr.TLSClientConfig.InsecureSkipVerify || tr.MaxConnsPerHost != 32 || tr.IdleConnTimeout != 90*time.Second {
		t.Fatalf("NewTransport() = %+v, %v", tr, err)
	}
	// A TLS server with its own CA is refused without the CA bundle.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(unsubscribeOK()) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	hc, _ := ewsclient.NewHTTPClient(nil)
	c, _ := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: hc})
	if err := c.Unsubscribe(context.Background(), ewsclient.Call{}, "s"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Unsubscribe(untrusted TLS) = %v", err)
	}
}

// TestNTLMHandshakeNetworkError: a connection that fails during the NTLM
// handshake is a network error (retryable), never the first 401 of the
// handshake, which would read as a wrong password.
func TestNTLMHandshakeNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", "NTLM")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// The negotiate message: the connection breaks.
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	defer srv.Close()
	tr, err := ewsclient.NewTransport(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, rt := range map[string]http.RoundTripper{"pooled transport": tr, "other round tripper": tr.Clone()} {
		t.Run(name, func(t *testing.T) {
			if name == "other round tripper" {
				rt = roundTripperFunc(rt.RoundTrip)
			}
			hc, err := ewsclient.NTLMAuth(rt, `CONTOSO\svc`, "pw")
			if err != nil {
				t.Fatal(err)
			}
			c, _ := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: hc})
			err = c.Unsubscribe(context.Background(), ewsclient.Call{}, "sub")
			var ne *ews.NetworkError
			if !errors.As(err, &ne) || errors.As(err, new(*ews.HTTPError)) || !ews.Retryable(err) {
				t.Fatalf("Unsubscribe(handshake connection broken) = %#v (%v), want a retryable *ews.NetworkError", err, err)
			}
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOAuth2TokenRejected: a token endpoint that rejects the client's
// credentials is an authentication failure (HTTP 401, not retryable), not
// a retryable network error; a token endpoint that is down stays
// retryable.
func TestOAuth2TokenRejected(t *testing.T) {
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`))
	}))
	defer tokenSrv.Close()
	var calls int
	ews0 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	defer ews0.Close()
	for _, tt := range []struct {
		path      string
		check     func(error) bool
		retryable bool
	}{
		{"/token", func(err error) bool { var he *ews.HTTPError; return errors.As(err, &he) && he.Unauthorized() }, false},
		{"/down", func(err error) bool { return err != nil }, true},
	} {
		conf := oauth2cc.Config{ClientID: "app", ClientSecret: "TopSecret-123", TokenURL: tokenSrv.URL + tt.path, AuthStyle: oauth2.AuthStyleInParams}
		hc := ewsclient.OAuth2(ews0.Client(), conf.TokenSource(context.Background()))
		c, _ := ewsclient.New(ews0.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: hc})
		err := c.Unsubscribe(context.Background(), ewsclient.ActAs("alice@contoso.com"), "sub")
		var te *ewsclient.TokenError
		if !errors.As(err, &te) {
			t.Errorf("token endpoint %s: %v is not an *ewsclient.TokenError", tt.path, err)
		}
		if !tt.check(err) || ews.Retryable(err) != tt.retryable || strings.Contains(err.Error(), "TopSecret") {
			t.Errorf("Unsubscribe(token endpoint %s) = %#v (%v); retryable %v, want %v", tt.path, err, err, ews.Retryable(err), tt.retryable)
		}
	}
	if calls != 0 {
		t.Fatalf("EWS got %d requests without a token", calls)
	}
}
