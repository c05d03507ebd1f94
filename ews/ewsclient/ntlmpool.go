package ewsclient

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
)

// ntlmPool runs every request, NTLM handshake included, on a transport
// that no other request uses at the same time.
//
// NTLM authenticates a connection, not a request: IIS accepts the
// AUTHENTICATE message only on the connection that received the
// CHALLENGE. Through one shared transport, the handshake's second request
// may take a different idle connection than its first (another goroutine
// took the first one meanwhile), and the server answers 401 to a correct
// password. With many concurrent requests (an initial load, streaming
// connections opening) that happens regularly. Each transport of the pool
// holds at most one connection per host and serves one request at a time,
// so the handshake stays on one connection, and an authenticated
// connection is reused without a new handshake.
type ntlmPool struct {
	template *http.Transport
	slots    chan struct{}        // one token per transport created
	idle     chan *http.Transport // transports free for the next request
}

// newNTLMPool returns a pool of at most max single-connection copies of
// template.
func newNTLMPool(template *http.Transport, max int) *ntlmPool {
	if max <= 0 {
		max = 32
	}
	return &ntlmPool{template: template, slots: make(chan struct{}, max), idle: make(chan *http.Transport, max)}
}

// RoundTrip implements http.RoundTripper. The transport returns to the
// pool when the response body is closed.
func (p *ntlmPool) RoundTrip(req *http.Request) (*http.Response, error) {
	t, err := p.acquire(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := negotiate(bufferUnauthorized{t}, req)
	if err != nil {
		p.release(t)
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { p.release(t) }}
	return resp, nil
}

func (p *ntlmPool) acquire(ctx context.Context) (*http.Transport, error) {
	select {
	case t := <-p.idle:
		return t, nil
	default:
	}
	select {
	case t := <-p.idle:
		return t, nil
	case p.slots <- struct{}{}:
		t := p.template.Clone()
		t.MaxConnsPerHost = 1
		t.MaxIdleConnsPerHost = 1
		return t, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release makes t available again; idle has room for every transport.
func (p *ntlmPool) release(t *http.Transport) { p.idle <- t }

// CloseIdleConnections closes the idle connections of every transport
// not in use.
func (p *ntlmPool) CloseIdleConnections() {
	for {
		select {
		case t := <-p.idle:
			t.CloseIdleConnections()
			// Released when all are taken, so the loop never takes one twice.
			defer p.release(t) //nolint:revive // deliberate defer in the loop
		default:
			return
		}
	}
}

// bufferUnauthorized reads a 401 answer into memory and frees its
// connection at once. The negotiator keeps the first 401 open until the
// handshake ends; on a single-connection transport that would leave the
// handshake no connection to run on.
type bufferUnauthorized struct{ rt http.RoundTripper }

// maxUnauthorizedBody bounds what is kept of a 401 body (IIS sends a short
// HTML page).
const maxUnauthorizedBody = 64 << 10

func (b bufferUnauthorized) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUnauthorizedBody))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// releasingBody calls release once, when the body is closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
