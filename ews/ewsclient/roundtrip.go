package ewsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// maxErrorBody is how much of a non-SOAP error body is kept.
const maxErrorBody = 512

// header builds the SOAP headers of a call.
func (c *Client) header(call Call) (*ewswire.Header, error) {
	h := &ewswire.Header{RequestServerVersion: &ewswire.RequestServerVersion{Version: string(c.version)}}
	if !call.ActAs.IsZero() {
		imp, err := ewswire.ImpersonationFrom(call.ActAs)
		if err != nil {
			return nil, err
		}
		h.Impersonation = imp
	}
	if call.TimeZone != "" {
		h.TimeZoneContext = &ewswire.TimeZoneContext{Definition: ewswire.TimeZoneDefinition{Id: call.TimeZone}}
	}
	return h, nil
}

// endpointFor picks the call's URL. A mailbox's URL (from Autodiscover)
// is checked once: an organisation has a handful, and every call of every
// mailbox names one.
func (c *Client) endpointFor(call Call) (string, error) {
	if call.Endpoint == "" {
		return c.endpointURL, nil
	}
	if v, ok := c.endpoints.Load(call.Endpoint); ok {
		return v.(string), nil
	}
	u, err := parseEndpoint(call.Endpoint)
	if err != nil {
		return "", err
	}
	v := u.String()
	if c.endpointsKept.Add(1) <= maxKeptEndpoints {
		c.endpoints.Store(call.Endpoint, v)
	}
	return v, nil
}

// maxKeptEndpoints bounds the checked endpoints a client keeps (others
// are checked at every call).
const maxKeptEndpoints = 256

// roundTrip sends one EWS request and decodes the response body into out.
// A fault becomes *ews.SOAPFault; other failures are classified.
func (c *Client) roundTrip(ctx context.Context, call Call, op string, body, out any) (*ewswire.Envelope, error) {
	h, err := c.header(call)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
	}
	payload, err := ewswire.Marshal(h, body)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
	}
	timeout := call.Timeout
	if timeout <= 0 {
		timeout = c.timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := c.clock.Now()
	resp, err := c.post(ctx, call, op, payload) //nolint:bodyclose // closed by closeBody once decoded
	if err != nil {
		c.log.Debug("ewsclient: call failed", "op", op, "anchor", call.Anchor, "err", err)
		return nil, err
	}
	defer closeBody(resp.Body)
	env, err := c.decode(ctx, op, resp, out)
	c.log.Debug("ewsclient: call", "op", op, "status", resp.StatusCode, "bytes_sent", len(payload),
		"elapsed", c.clock.Now().Sub(began), "err", err)
	return env, err
}

// post sends payload with the routing headers of call.
func (c *Client) post(ctx context.Context, call Call, op string, payload []byte) (*http.Response, error) {
	endpoint, err := c.endpointFor(call)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
	}
	// abort ends this request alone: closeBody and httpError use it to
	// stop waiting for bytes the result does not need.
	rctx, abort := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		abort()
		return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
	}
	anchor := call.Anchor
	if anchor == "" {
		anchor = call.ActAs.AnchorMailbox()
	}
	// The header's values share one array (one allocation instead of one
	// per Set); each is a slice of capacity 1, so an Add elsewhere copies.
	vals := make([]string, 0, 5)
	set := func(key, v string) {
		vals = append(vals, v)
		req.Header[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set("Content-Type", "text/xml; charset=utf-8")
	set("Accept", "text/xml")
	set("User-Agent", c.userAgent)
	if anchor != "" {
		set("X-Anchormailbox", anchor)
	}
	if call.Affinity != nil {
		set("X-Preferserveraffinity", "true")
		if ck := call.Affinity.Cookie(); ck != "" {
			req.AddCookie(&http.Cookie{Name: BackEndCookieName, Value: ck})
		}
	}
	c.trace.request(req, payload)
	resp, err := c.http.Do(req)
	if err != nil {
		abort()
		return nil, c.transportError(ctx, op, err)
	}
	resp.Body = &abortableBody{ReadCloser: resp.Body, abort: abort}
	if call.Affinity != nil {
		for _, ck := range resp.Cookies() {
			if ck.Name == BackEndCookieName && ck.Value != "" {
				call.Affinity.SetCookie(ck.Value)
			}
		}
	}
	return resp, nil
}

// transportError classifies an error of HTTPClient.Do or of reading a body.
func (c *Client) transportError(ctx context.Context, op string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		// Cancelled by the caller. net/http reports the context's cause
		// (context.WithCancelCause, Stream.Close) rather than
		// context.Canceled: keep both in the chain so that the error is
		// never mistaken for a retryable network failure.
		cause := context.Cause(ctx)
		if errors.Is(err, context.Canceled) || errors.Is(err, cause) {
			if errors.Is(cause, context.Canceled) {
				return fmt.Errorf("ewsclient: %s: %w", op, cause)
			}
			return fmt.Errorf("ewsclient: %s: %w: %w", op, context.Canceled, cause)
		}
	}
	var he *ews.HTTPError
	if errors.As(err, &he) {
		return he // an auth decorator's classified answer (token rejected)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop the URL: it may carry tokens in query strings
	}
	return &ews.NetworkError{Op: op, Err: err}
}

// wireError classifies an ewswire decoding error.
func (c *Client) wireError(ctx context.Context, op string, err error) error {
	var re *ewswire.ReadError
	if errors.As(err, &re) {
		return c.transportError(ctx, op, re.Err)
	}
	return &ews.ProtocolError{Op: op, Err: err}
}

// decode handles the status code and the SOAP body.
func (c *Client) decode(ctx context.Context, op string, resp *http.Response, out any) (*ewswire.Envelope, error) {
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusInternalServerError {
		return nil, c.httpError(resp)
	}
	var body io.Reader = resp.Body
	var captured *bytes.Buffer
	if c.trace != nil {
		captured = &bytes.Buffer{}
		body = io.TeeReader(body, &limitedWriter{w: captured, n: 1 << 20})
	}
	env, err := ewswire.DecodeResponse(body, c.limits, out)
	if c.trace != nil {
		c.trace.response(resp, captured.Bytes())
	}
	if err != nil {
		werr := c.wireError(ctx, op, err)
		if resp.StatusCode == http.StatusInternalServerError {
			var pe *ews.ProtocolError
			if errors.As(werr, &pe) {
				return nil, &ews.HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Err: werr}
			}
		}
		return nil, werr
	}
	if f := env.Fault(); f != nil {
		return env, f.ToError(resp.StatusCode)
	}
	if v := env.Header.ServerVersionInfo; v != nil {
		info := v.ToEWS()
		c.serverVersion.Store(&info)
	}
	return env, nil
}

// httpError reads at most maxErrorBody bytes of a non-SOAP answer.
func (c *Client) httpError(resp *http.Response) error {
	b := readAtMost(resp.Body, maxErrorBody)
	if c.trace != nil {
		c.trace.response(resp, b)
	}
	he := &ews.HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Body: strings.ToValidUTF8(string(b), "?"),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if u, err := url.Parse(resp.Header.Get("Location")); err == nil {
			he.Location = u.Redacted()
		}
	}
	return he
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 && s < 86400 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// bodyWait bounds how long the client waits for body bytes the result
// does not depend on: the diagnostic start of an HTTP error body and the
// tail drained for connection reuse. A server that keeps such a body open
// without sending must not hold the call until its timeout.
const bodyWait = 500 * time.Millisecond

// abortableBody is a response body whose request can be aborted (its
// context cancelled) while a read is blocked.
type abortableBody struct {
	io.ReadCloser
	abort context.CancelFunc
}

// Close closes the body and releases the request's context.
func (b *abortableBody) Close() error {
	err := b.ReadCloser.Close()
	b.abort()
	return err
}

// readAtMost reads up to n bytes of b; if they do not arrive within
// bodyWait, the request is aborted (the connection is then not reused).
func readAtMost(b io.Reader, n int64) []byte {
	if a, ok := b.(*abortableBody); ok {
		t := time.AfterFunc(bodyWait, a.abort)
		defer t.Stop()
	}
	data, _ := io.ReadAll(io.LimitReader(b, n))
	return data
}

// closeBody drains a little of the body (for connection reuse), without
// waiting more than bodyWait, and closes it.
func closeBody(b io.ReadCloser) {
	readAtMost(b, 4096)
	_ = b.Close()
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

// Write implements io.Writer, keeping at most n bytes.
func (l *limitedWriter) Write(p []byte) (int, error) {
	if rem := l.n - l.w.Len(); rem > 0 {
		if len(p) > rem {
			l.w.Write(p[:rem])
		} else {
			l.w.Write(p)
		}
	}
	return len(p), nil
}

// single returns the only response message's error, or a protocol error
// when the count is wrong.
func single(op string, n int) error {
	return ewswire.CheckCount(op, n, 1)
}
