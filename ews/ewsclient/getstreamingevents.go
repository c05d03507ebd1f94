package ewsclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/clock"
)

// MaxStreamSubscriptions is the most subscriptions calsync puts on one
// streaming connection (Microsoft's guidance).
const MaxStreamSubscriptions = 200

// streamEnvelopeLimit bounds one streaming envelope (≤100 events each).
const streamEnvelopeLimit = 8 << 20

// ErrStreamIdle is the cause of a streaming connection ended by the idle
// watchdog. It arrives wrapped in an *ews.NetworkError (retryable).
var ErrStreamIdle = errors.New("ewsclient: streaming connection sent nothing within the idle timeout")

// errStreamClosed is the cancellation cause of Stream.Close.
var errStreamClosed = errors.New("ewsclient: stream closed")

// StreamRequest opens a GetStreamingEvents connection.
type StreamRequest struct {
	// SubscriptionIds are 1..200 streaming subscriptions of one affinity
	// group (pass the group's Affinity in the Call).
	SubscriptionIds []string
	// ConnectionTimeoutMinutes is the connection lifetime, 1..30
	// (default 30).
	ConnectionTimeoutMinutes int
	// IdleTimeout overrides Options.StreamIdleTimeout.
	IdleTimeout time.Duration
}

// SubscriptionFailure reports subscriptions the server dropped from the
// connection (ErrorSubscriptionIds): resubscribe them alone.
type SubscriptionFailure struct {
	SubscriptionIds []string
	Err             *ews.ResponseError
}

// StreamBatch is what one envelope of the stream carried.
type StreamBatch struct {
	Notifications []ews.Notification
	// Status is ConnectionOK for a heartbeat, ConnectionClosed when the
	// server ends the connection (reconnect), "" otherwise.
	Status ews.ConnectionStatus
	// Failed lists per-subscription errors, as they arrive.
	Failed []SubscriptionFailure
}

// Stream is an open GetStreamingEvents connection. Read it with Next from
// one goroutine; Close may be called from any goroutine.
type Stream struct {
	op   string
	body io.ReadCloser
	// in buffers the body for the decoder (which reads it byte by byte);
	// Next waits on it for the next envelope (see Next).
	in      *bufio.Reader
	reader  *ewswire.StreamReader
	idle    *idleWatchdog
	ctx     context.Context
	cancel  context.CancelCauseFunc
	once    sync.Once
	clients *Client
}

// GetStreamingEvents opens a streaming connection and returns as soon as
// the response headers arrive; envelopes are decoded one by one by Next.
func (c *Client) GetStreamingEvents(ctx context.Context, call Call, req StreamRequest) (*Stream, error) {
	const op = "GetStreamingEvents"
	n := len(req.SubscriptionIds)
	if n == 0 || n > MaxStreamSubscriptions {
		return nil, fmt.Errorf("ewsclient: GetStreamingEvents: %d subscription ids, want 1..%d", n, MaxStreamSubscriptions)
	}
	minutes := req.ConnectionTimeoutMinutes
	if minutes == 0 {
		minutes = 30
	}
	if minutes < 1 || minutes > 30 {
		return nil, fmt.Errorf("ewsclient: GetStreamingEvents: ConnectionTimeout %d out of range 1..30 minutes", minutes)
	}
	idle := req.IdleTimeout
	if idle <= 0 {
		idle = c.idleTimeout
	}
	w := &ewswire.GetStreamingEvents{ConnectionTimeout: minutes}
	for _, id := range req.SubscriptionIds {
		if id == "" {
			return nil, errors.New("ewsclient: GetStreamingEvents: empty subscription id")
		}
		w.SubscriptionIds.SubscriptionId = append(w.SubscriptionIds.SubscriptionId, id)
	}
	h, err := c.header(call)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
	}
	payload, err := ewswire.Marshal(h, w)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
	}
	// The connection may live ConnectionTimeout plus a grace period; the
	// idle watchdog ends it earlier when the server goes silent.
	sctx, cancel := context.WithCancelCause(ctx)
	sctx, cancelTimeout := context.WithTimeout(sctx, time.Duration(minutes)*time.Minute+2*time.Minute)
	cancelBoth := func(cause error) { cancel(cause); cancelTimeout() }
	s := &Stream{op: op, ctx: sctx, cancel: cancelBoth, clients: c}
	s.idle = newIdleWatchdog(c.clock, idle, func() {
		c.log.Warn("ewsclient: streaming connection idle, closing", "idle_timeout", idle, "subscriptions", n)
		cancel(ErrStreamIdle)
	})
	resp, err := c.post(sctx, call, op, payload) //nolint:bodyclose // the Stream owns the body; Close closes it
	if err != nil {
		s.Close()
		return nil, s.classify(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer closeBody(resp.Body)
		defer s.Close()
		var out ewswire.GetStreamingEventsResponse
		if resp.StatusCode != http.StatusInternalServerError {
			return nil, c.httpError(resp)
		}
		if _, err := c.decode(sctx, op, resp, &out); err != nil {
			return nil, s.classify(err)
		}
		return nil, s.firstError(&out)
	}
	s.body = resp.Body
	var body io.Reader = &watchedReader{r: resp.Body, wd: s.idle}
	if c.trace != nil {
		c.trace.response(resp, nil)
		body = io.TeeReader(body, traceWriter{c.trace})
	}
	lim := c.limits
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = streamEnvelopeLimit
	}
	// The decoder reads s.in as an io.ByteReader, without a buffer of its
	// own (the 4 KiB it allocated before is this one).
	s.in = bufio.NewReaderSize(&stickyReader{r: body}, streamBufferSize)
	s.reader = ewswire.NewStreamReader(s.in, lim)
	return s, nil
}

// firstError turns a non-streaming error answer into an error.
func (s *Stream) firstError(out *ewswire.GetStreamingEventsResponse) error {
	for _, m := range out.ResponseMessages.Messages {
		if err := m.Err(s.op, -1); err != nil {
			return err
		}
	}
	return &ews.ProtocolError{Op: s.op, Err: errors.New("HTTP 500 without an error message")}
}

// classify maps errors, reporting the idle watchdog as ErrStreamIdle.
func (s *Stream) classify(err error) error {
	if errors.Is(context.Cause(s.ctx), ErrStreamIdle) {
		return &ews.NetworkError{Op: s.op, Err: ErrStreamIdle}
	}
	var ne *ews.NetworkError
	if errors.As(err, &ne) || errors.As(err, new(*ews.ProtocolError)) || errors.As(err, new(*ews.HTTPError)) ||
		errors.As(err, new(*ews.SOAPFault)) || errors.As(err, new(*ews.ResponseError)) {
		return err
	}
	return s.clients.wireError(s.ctx, s.op, err)
}

// streamBufferSize is the buffer of a stream's body: the size the XML
// decoder would have given itself.
const streamBufferSize = 4096

// Next blocks until the next envelope and returns what it carried. After
// a batch with Status ConnectionClosed the next call returns io.EOF. Any
// error ends the stream: close it and reconnect.
//
// A connection rests between envelopes for seconds to minutes. Next waits
// for the first bytes of the next one here, a few frames deep, instead of
// inside the XML decoder (some twenty frames and several KiB deeper): the
// reading goroutine's stack, grown to 16 KiB by decoding, then holds
// little enough at rest for the collector to shrink it (it shrinks a stack
// less than a quarter used). An error is left in the buffer's reader
// (stickyReader) for the decoder to report.
func (s *Stream) Next() (StreamBatch, error) {
	if s.in.Buffered() == 0 {
		_, _ = s.in.Peek(1)
	}
	return s.decodeNext()
}

// decodeNext decodes the envelope whose first bytes Next waited for.
func (s *Stream) decodeNext() (StreamBatch, error) {
	env, err := s.reader.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			if errors.Is(context.Cause(s.ctx), ErrStreamIdle) {
				return StreamBatch{}, &ews.NetworkError{Op: s.op, Err: ErrStreamIdle}
			}
			return StreamBatch{}, io.EOF
		}
		return StreamBatch{}, s.classify(err)
	}
	if f := env.Fault(); f != nil {
		return StreamBatch{}, f.ToError(http.StatusOK)
	}
	resp, ok := env.Body.(*ewswire.GetStreamingEventsResponse)
	if !ok {
		return StreamBatch{}, &ews.ProtocolError{Op: s.op, Err: fmt.Errorf("unexpected body <%s>", env.BodyName.Local)}
	}
	var batch StreamBatch
	var connErr error
	for _, m := range resp.ResponseMessages.Messages {
		if err := m.Err(s.op, -1); err != nil {
			re, isRE := err.(*ews.ResponseError)
			if ids := m.ErrorSubscriptionIds.All(); isRE && len(ids) > 0 {
				batch.Failed = append(batch.Failed, SubscriptionFailure{SubscriptionIds: ids, Err: re})
			} else if connErr == nil {
				connErr = err
			}
		}
		for _, wn := range m.Notifications.All() {
			n, err := wn.ToEWS()
			if err != nil {
				return batch, &ews.ProtocolError{Op: s.op, Err: err}
			}
			batch.Notifications = append(batch.Notifications, n)
		}
		switch st := ews.ConnectionStatus(m.ConnectionStatus); st {
		case "":
		case ews.ConnectionOK, ews.ConnectionClosed:
			if batch.Status != ews.ConnectionClosed {
				batch.Status = st
			}
		default:
			return batch, &ews.ProtocolError{Op: s.op, Err: fmt.Errorf("unknown ConnectionStatus %q", st)}
		}
	}
	return batch, connErr
}

// Close ends the connection. It is safe to call more than once.
func (s *Stream) Close() error {
	s.once.Do(func() {
		s.idle.stop()
		s.cancel(errStreamClosed)
		if s.body != nil {
			_ = s.body.Close()
		}
	})
	return nil
}

// idleWatchdog cancels the stream when no byte arrives for the idle
// timeout. It is a timer that every read re-arms, not a goroutine waiting
// on one: a connection rests for minutes between envelopes, and a
// goroutine per connection kept a stack of its own for nothing.
type idleWatchdog struct {
	idle  time.Duration
	timer clock.Timer
	mu    sync.Mutex
	ended bool // fired or stopped: reads no longer re-arm it
}

func newIdleWatchdog(clk clock.Clock, idle time.Duration, fire func()) *idleWatchdog {
	w := &idleWatchdog{idle: idle}
	w.timer = clock.AfterFunc(clk, idle, func() {
		w.mu.Lock()
		ended := w.ended
		w.ended = true
		w.mu.Unlock()
		if !ended {
			fire()
		}
	})
	return w
}

// alive reports traffic: the idle timeout starts again.
func (w *idleWatchdog) alive() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.timer.Reset(w.idle)
	}
}

// stop disarms the watchdog for good (the stream ended).
func (w *idleWatchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	w.timer.Stop()
}

// stickyReader returns its reader's first error at every later read, so
// that an error Next's wait met (bufio.Reader hands an error out once)
// still reaches the decoder.
type stickyReader struct {
	r   io.Reader
	err error
}

// Read implements io.Reader.
func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

type watchedReader struct {
	r  io.Reader
	wd *idleWatchdog
}

// Read implements io.Reader and reports traffic to the watchdog.
func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.wd.alive()
	}
	return n, err
}

type traceWriter struct{ t *tracer }

// Write implements io.Writer for the protocol trace.
func (t traceWriter) Write(p []byte) (int, error) {
	t.t.chunk(p)
	return len(p), nil
}
