package engine

import (
	"context"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// streamWatch times a streaming connection while readStream reads it: the
// heartbeat timeout (silence: no message for HeartbeatTimeout ends the
// connection) and its renewal before the server's ConnectionTimeout ends
// it. Both are timers that call a function, not a goroutine waiting on
// them: a connection rests for minutes between messages, and the
// goroutine kept a stack of its own per connection for nothing.
type streamWatch struct {
	timeout time.Duration // HeartbeatTimeout
	silence clock.Timer
	renewal clock.Timer

	mu sync.Mutex
	// ended: readStream returned, the timers' functions do nothing (end
	// waits for one that is running, so that none acts on a connection
	// after its read ended, as before with the goroutine).
	ended bool
	// silent: the heartbeat timeout ended the connection.
	silent bool
}

// watchStream starts the timers of c's stream; cancel ends the stream's
// read. Call end when the read returns.
func (m *streamManager) watchStream(ctx context.Context, c *streamConn, cancel context.CancelFunc) *streamWatch {
	w := &streamWatch{timeout: m.e.opts.HeartbeatTimeout}
	w.silence = clock.AfterFunc(m.e.clk, w.timeout, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.ended {
			return
		}
		w.silent = true
		cancel()
	})
	w.renewal = clock.AfterFunc(m.e.clk, m.e.opts.StreamTimeout-m.e.opts.StreamRenewBefore, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.ended || w.silent || ctx.Err() != nil {
			return
		}
		m.renew(c)
	})
	return w
}

// heard reports a message: the heartbeat timeout starts again.
func (w *streamWatch) heard() { w.silence.Reset(w.timeout) }

// wasSilent reports whether the heartbeat timeout ended the connection.
func (w *streamWatch) wasSilent() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.silent
}

// end stops the timers; a renewal in progress finishes first.
func (w *streamWatch) end() {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	w.silence.Stop()
	w.renewal.Stop()
}
