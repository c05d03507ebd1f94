package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// Per endpoint, cause and window, the first failureLogBurst failed
// deliveries are logged one by one; the rest are counted and summarised in
// one line when the window ends (as the engine does for mailboxes).
const (
	failureLogBurst  = 5
	failureLogWindow = time.Minute
)

// failureLog keeps the log readable when a receiver is down: its
// deliveries for hundreds of users fail at once and again at every retry.
// Instead of a line per attempt, a few examples and a count per endpoint,
// cause (HTTP status or no response) and minute. Every message keeps its
// own last error in the outbox (dead letters in the API). Safe for
// concurrent use.
type failureLog struct {
	clock clock.Clock
	log   *slog.Logger

	mu    sync.Mutex
	byKey map[failureKey]*failureWindow
}

// failureKey groups failures that share a cause.
type failureKey struct {
	endpoint string
	cause    string // "HTTP 503", "no response"
	dead     bool   // dead-lettered rather than retried
}

// failureWindow counts one key's failures since start.
type failureWindow struct {
	start      time.Time
	logged     int
	suppressed int
}

func newFailureLog(clk clock.Clock, log *slog.Logger) *failureLog {
	return &failureLog{clock: clk, log: log, byKey: map[failureKey]*failureWindow{}}
}

// causeOf names what went wrong with an attempt: the receiver's HTTP
// status, or no response at all (refused, timed out, unresolvable).
func causeOf(status int) string {
	if status == 0 {
		return "no response"
	}
	return fmt.Sprintf("HTTP %d", status)
}

// failed logs one failed delivery (attrs describe it), or counts it for
// the summary at the end of the window. ctx bounds the summary's timer
// (the dispatcher's Run).
func (f *failureLog) failed(ctx context.Context, k failureKey, attrs ...any) {
	now := f.clock.Now()
	f.mu.Lock()
	w := f.byKey[k]
	if w == nil || now.Sub(w.start) >= failureLogWindow {
		if w != nil {
			f.summaryLocked(k, w)
		}
		w = &failureWindow{start: now}
		f.byKey[k] = w
	}
	if w.logged < failureLogBurst {
		w.logged++
		f.mu.Unlock()
		attrs = append([]any{"endpoint", k.endpoint}, attrs...)
		if k.dead {
			f.log.Error("webhook: message dead-lettered", attrs...)
		} else {
			f.log.Warn("webhook: delivery failed, will retry", attrs...)
		}
		return
	}
	w.suppressed++
	first := w.suppressed == 1
	f.mu.Unlock()
	if first {
		f.flushAt(ctx, k, w)
	}
}

// flushAt writes w's summary at the end of its window, unless a later
// failure of the same key already did.
func (f *failureLog) flushAt(ctx context.Context, k failureKey, w *failureWindow) {
	t := f.clock.NewTimer(w.start.Add(failureLogWindow).Sub(f.clock.Now()))
	go func() {
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.byKey[k] == w {
			f.summaryLocked(k, w)
			delete(f.byKey, k)
		}
	}()
}

func (f *failureLog) summaryLocked(k failureKey, w *failureWindow) {
	if w.suppressed == 0 {
		return
	}
	if k.dead {
		f.log.Error("webhook: more messages dead-lettered with the same cause (GET /api/v1/webhooks/dead-letters lists them; they can be re-sent)",
			"endpoint", k.endpoint, "cause", k.cause, "messages", w.suppressed, "within", failureLogWindow.String())
	} else {
		f.log.Warn("webhook: more deliveries failed with the same cause; each is retried with back-off (calsync_webhook_pending counts what waits)",
			"endpoint", k.endpoint, "cause", k.cause, "deliveries", w.suppressed, "within", failureLogWindow.String())
	}
	w.suppressed = 0
}
