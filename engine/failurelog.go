package engine

import (
	"time"

	"github.com/calsync/calsync/internal/logsample"
)

// Per error code and window, the first failureLogBurst failing mailboxes
// are logged one by one; the rest are counted and summarised in one line
// when the window ends.
const (
	failureLogBurst  = 5
	failureLogWindow = time.Minute
)

// failureLog keeps the log readable when one cause (Exchange unreachable,
// a wrong password, an overloaded front end) fails thousands of mailboxes
// at once: instead of a warning per mailbox and retry, a few examples and
// a count per code and minute (internal/logsample). Every mailbox's status
// keeps its own error for the API and the dashboard. Safe for concurrent
// use.
type failureLog struct {
	e      *Engine
	sample *logsample.Sampler[string]
}

func newFailureLog(e *Engine) *failureLog {
	summary := func(code string, mailboxes int, hint any) {
		e.log.Warn("more mailboxes failed with the same code (each mailbox's status in the API and the dashboard has its error)",
			"code", code, "mailboxes", mailboxes, "within", failureLogWindow.String(), "hint", hint)
	}
	return &failureLog{e: e, sample: logsample.New(e.clk, failureLogBurst, failureLogWindow, summary)}
}

// warn logs one mailbox's failed sync step, or counts it for the summary,
// which carries the fix hint of the window's first failure.
func (f *failureLog) warn(smtp, code string, err error, attrs ...any) {
	if f.sample.Sample(f.e.runCtxDone(), code, hintFor(err)) {
		f.e.log.Warn("mailbox sync step failed", append([]any{"smtp", smtp, "code", code}, append(attrs, "err", Describe(err))...)...)
	}
}
