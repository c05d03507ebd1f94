package graphclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// request is one Graph call as the operations describe it.
type request struct {
	op      string
	mailbox string // gate key; "" = not gated
	method  string
	url     string
	body    []byte
	prefer  []string
}

// response is a 2xx answer, read whole within the size limit.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send runs r with the client's policies: the mailbox gate, one retry
// with a new token after a 401, and up to ThrottleRetries retries of a
// throttled request after its Retry-After (held for the whole mailbox).
func (c *Client) send(ctx context.Context, r request) (*response, error) {
	newToken := false
	for attempt := 0; ; attempt++ {
		release, err := c.gates.acquire(ctx, r.mailbox)
		if err != nil {
			return nil, err
		}
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			release()
			return nil, err
		}
		resp, err := c.once(ctx, r, tok)
		release()
		if err == nil {
			return resp, nil
		}
		var ge *graph.Error
		if !errors.As(err, &ge) {
			return nil, err
		}
		if ge.StatusCode == http.StatusUnauthorized && !newToken {
			c.tokens.Invalidate(tok)
			newToken = true
			continue
		}
		if graph.Classify(err) != graph.ClassThrottled {
			return nil, err
		}
		wait := ge.RetryAfter
		if wait <= 0 {
			wait = time.Second << min(attempt, 6)
		}
		c.gates.hold(r.mailbox, wait)
		if attempt >= c.retries || wait > c.maxRetryWait {
			return nil, err
		}
		c.log.Debug("graph throttled", "op", r.op, "mailbox", r.mailbox, "retry_after", wait)
		if r.mailbox == "" {
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
}

// sleep waits d on the client's clock.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// once makes one HTTP request and reads the answer.
func (c *Client) once(ctx context.Context, r request, token string) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, &graph.ProtocolError{Op: r.op, Err: fmt.Errorf("building the request: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(r.prefer) > 0 {
		req.Header.Set(graphwire.HeaderPrefer, strings.Join(r.prefer, ", "))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := context.Cause(ctx); errors.Is(err, context.Canceled) && ctxErr != nil && !errors.Is(ctxErr, context.DeadlineExceeded) {
			return nil, ctxErr
		}
		return nil, &graph.NetworkError{Op: r.op, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return nil, &graph.NetworkError{Op: r.op, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if int64(len(data)) > c.maxBytes {
		if !ok { // the status still says what happened; the body is unread
			return nil, c.errorOf(r.op, resp.StatusCode, resp.Header, nil)
		}
		return nil, &graph.ProtocolError{Op: r.op, Err: fmt.Errorf("answer over %d bytes (HTTP %d)", c.maxBytes, resp.StatusCode)}
	}
	if ok {
		return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
	}
	return nil, c.errorOf(r.op, resp.StatusCode, resp.Header, data)
}

// errorOf builds the *graph.Error of a non-2xx answer. A body that is not
// Graph's error envelope (an HTML page of a proxy, nothing) leaves Code
// empty; the status then classifies it.
func (c *Client) errorOf(op string, status int, h http.Header, body []byte) *graph.Error {
	ge := &graph.Error{Op: op, StatusCode: status, RequestID: h.Get(graphwire.HeaderRequestID), Location: h.Get("Location")}
	if d, ok := graph.ParseRetryAfter(h.Get(graphwire.HeaderRetryAfter), c.clock.Now()); ok {
		ge.RetryAfter = d
	}
	var eb graphwire.ErrorBody
	if len(body) > 0 && graphwire.Unmarshal(body, &eb) == nil {
		ge.Code = graph.ErrorCode(eb.Error.Code)
		ge.Message = clip(eb.Error.Message, 300)
		if ge.RequestID == "" && eb.Error.InnerError != nil {
			ge.RequestID = eb.Error.InnerError.RequestID
		}
	}
	return ge
}

// decode parses a 2xx body into v; a body that does not parse is a
// *graph.ProtocolError naming the operation and the position.
func decode(op string, body []byte, v any) error {
	if err := graphwire.Unmarshal(body, v); err != nil {
		return &graph.ProtocolError{Op: op, Err: err}
	}
	return nil
}

// clip keeps messages from a hostile server short and on one line.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r < 0x20 {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
