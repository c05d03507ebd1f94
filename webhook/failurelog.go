package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/logsample"
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
// cause (HTTP status or no response) and minute (internal/logsample).
// Every message keeps its own last error in the outbox (dead letters in
// the API). Safe for concurrent use.
type failureLog struct {
	log    *slog.Logger
	sample *logsample.Sampler[failureKey]
}

// failureKey groups failures that share a cause.
type failureKey struct {
	endpoint string
	cause    string // "HTTP 503", "no response"
	dead     bool   // dead-lettered rather than retried
}

func newFailureLog(clk clock.Clock, log *slog.Logger) *failureLog {
	return &failureLog{log: log, sample: logsample.New(clk, failureLogBurst, failureLogWindow, func(k failureKey, n int, _ any) {
		within := failureLogWindow.String()
		if k.dead {
			log.Error("webhook: more messages dead-lettered with the same cause (GET /api/v1/webhooks/dead-letters lists them; they can be re-sent)",
				"endpoint", k.endpoint, "cause", k.cause, "messages", n, "within", within)
			return
		}
		log.Warn("webhook: more deliveries failed with the same cause; each is retried with back-off (calsync_webhook_pending counts what waits)",
			"endpoint", k.endpoint, "cause", k.cause, "deliveries", n, "within", within)
	})}
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
	if !f.sample.Sample(ctx, k, nil) {
		return
	}
	attrs = append([]any{"endpoint", k.endpoint}, attrs...)
	if k.dead {
		f.log.Error("webhook: message dead-lettered", attrs...)
	} else {
		f.log.Warn("webhook: delivery failed, will retry", attrs...)
	}
}
