package ewsclient

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"sync"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/calsync/calsync/ews"
	"golang.org/x/oauth2"
)

// HTTPClientFunc adapts a function to HTTPClient.
type HTTPClientFunc func(*http.Request) (*http.Response, error)

// Do calls f.
func (f HTTPClientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// BasicAuth decorates next with HTTP Basic credentials. Use only over TLS.
func BasicAuth(next HTTPClient, username, password string) HTTPClient {
	// The header's value is the same for every request: encoded once.
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password))
	return HTTPClientFunc(func(r *http.Request) (*http.Response, error) {
		return next.Do(withHeader(r, "Authorization", auth))
	})
}

// withHeader returns a copy of r with the header key (canonical) set to
// v, leaving r as it was (a decorator must not change its caller's
// request). Only the struct and the header are copied — what Clone copies
// besides (URL, trailer, form) nothing here changes — and the header's
// values go into one array.
func withHeader(r *http.Request, key, v string) *http.Request {
	out := new(http.Request)
	*out = *r
	n := 1
	for _, vs := range r.Header {
		n += len(vs)
	}
	vals := make([]string, 0, n)
	h := make(http.Header, len(r.Header)+1)
	for k, vs := range r.Header {
		vals = append(vals, vs...)
		h[k] = vals[len(vals)-len(vs) : len(vals) : len(vals)]
	}
	vals = append(vals, v)
	h[key] = vals[len(vals)-1:]
	out.Header = h
	return out
}

// NTLMAuth returns an HTTPClient authenticating with NTLMv2 (through
// github.com/Azure/go-ntlmssp) over transport. username may be
// "DOMAIN\user" or "user@domain". NTLM authenticates the connection, so the
// transport must not be shared with other credentials. An *http.Transport
// is used as a template: every request, handshake included, runs on a
// single-connection copy of it that no concurrent request shares (at most
// MaxConnsPerHost copies), so that a handshake never straddles two
// connections. Another RoundTripper is used as it is.
func NTLMAuth(transport http.RoundTripper, username, password string) (HTTPClient, error) {
	if transport == nil {
		return nil, errors.New("ewsclient: NTLMAuth needs a transport")
	}
	if username == "" {
		return nil, errors.New("ewsclient: NTLMAuth needs a user name")
	}
	var rt http.RoundTripper = roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return negotiate(transport, r)
	})
	if t, ok := transport.(*http.Transport); ok {
		rt = newNTLMPool(t, t.MaxConnsPerHost)
	}
	hc := &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	// The negotiator turns these Basic credentials into NTLM messages.
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password))
	return HTTPClientFunc(func(r *http.Request) (*http.Response, error) {
		return hc.Do(withHeader(r, "Authorization", auth))
	}), nil
}

// roundTripperFunc adapts a function to http.RoundTripper.
type roundTripperFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// negotiate runs req through the NTLM negotiator over rt. The negotiator
// returns only the error of its first request: when a later step of the
// handshake fails (connection reset, timeout, cancelled context), it hands
// back the server's first 401 instead, which would read as a wrong
// password. That transport error is returned here instead.
func negotiate(rt http.RoundTripper, req *http.Request) (*http.Response, error) {
	rec := &errorRecorder{rt: rt}
	resp, err := ntlmssp.Negotiator{RoundTripper: rec}.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		if rerr := rec.last(); rerr != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxUnauthorizedBody))
			_ = resp.Body.Close()
			return nil, rerr
		}
	}
	return resp, err
}

// errorRecorder remembers the last error of rt.
type errorRecorder struct {
	rt  http.RoundTripper
	mu  sync.Mutex
	err error
}

// RoundTrip implements http.RoundTripper.
func (e *errorRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := e.rt.RoundTrip(req)
	if err != nil {
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
	}
	return resp, err
}

func (e *errorRecorder) last() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// OAuth2 decorates next with a bearer token from ts (Exchange Online or
// on-premises Hybrid Modern Authentication). App-only tokens require
// impersonation and X-AnchorMailbox on every call, which Client sends.
func OAuth2(next HTTPClient, ts oauth2.TokenSource) HTTPClient {
	return HTTPClientFunc(func(r *http.Request) (*http.Response, error) {
		tok, err := ts.Token()
		if err != nil {
			return nil, tokenError(err)
		}
		return next.Do(withHeader(r, "Authorization", tok.Type()+" "+tok.AccessToken))
	})
}

// TokenError is a failure to get an OAuth2 token for a request: the token
// endpoint unreachable, failing, or rejecting the credentials (then it is
// the cause of an *ews.HTTPError 401). Callers tell it from EWS failures
// with errors.As.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "ewsclient: oauth2 token: " + e.Err.Error() }

// Unwrap returns the token source's error.
func (e *TokenError) Unwrap() error { return e.Err }

// tokenError classifies a failure to get a token. A token endpoint that
// rejects the credentials (HTTP 401, or the OAuth errors invalid_client,
// invalid_grant, unauthorized_client, which come with HTTP 400) is an
// authentication failure: it is reported as an *ews.HTTPError 401, like a
// 401 from EWS, so that callers hold back instead of retrying. Anything
// else (token endpoint unreachable or failing) stays a network error.
func tokenError(err error) error {
	err = &TokenError{Err: err}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	rejected := re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized
	switch re.ErrorCode {
	case "invalid_client", "invalid_grant", "unauthorized_client":
		rejected = true
	}
	if !rejected {
		return err
	}
	return &ews.HTTPError{StatusCode: http.StatusUnauthorized, Status: "401 Unauthorized", Err: err}
}
