package engine

import (
	"sync"
	"time"
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
// a count per code and minute. Every mailbox's status keeps its own error
// for the API and the dashboard. Safe for concurrent use.
type failureLog struct {
	e      *Engine
	burst  int
	window time.Duration

	mu     sync.Mutex
	byCode map[string]*failureWindow
}

// failureWindow counts one code's failures since start.
type failureWindow struct {
	start      time.Time
	logged     int
	suppressed int
	hint       string
}

func newFailureLog(e *Engine) *failureLog {
	return &failureLog{e: e, burst: failureLogBurst, window: failureLogWindow, byCode: map[string]*failureWindow{}}
}

// warn logs one mailbox's failed sync step, or counts it for the summary.
func (f *failureLog) warn(smtp, code string, err error, attrs ...any) {
	now := f.e.clk.Now()
	f.mu.Lock()
	w := f.byCode[code]
	if w == nil || now.Sub(w.start) >= f.window {
		if w != nil {
			f.summaryLocked(code, w)
		}
		w = &failureWindow{start: now, hint: hintFor(err)}
		f.byCode[code] = w
	}
	if w.logged < f.burst {
		w.logged++
		f.mu.Unlock()
		f.e.log.Warn("mailbox sync step failed", append([]any{"smtp", smtp, "code", code}, append(attrs, "err", Describe(err))...)...)
		return
	}
	w.suppressed++
	first := w.suppressed == 1
	f.mu.Unlock()
	if first {
		f.flushAt(code, w, w.start.Add(f.window))
	}
}

// flushAt writes w's summary at the end of its window, unless a later
// failure of the same code already did.
func (f *failureLog) flushAt(code string, w *failureWindow, at time.Time) {
	ctx := f.e.runCtxDone()
	t := f.e.clk.NewTimer(at.Sub(f.e.clk.Now()))
	go func() {
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.byCode[code] == w {
			f.summaryLocked(code, w)
			delete(f.byCode, code)
		}
	}()
}

func (f *failureLog) summaryLocked(code string, w *failureWindow) {
	if w.suppressed == 0 {
		return
	}
	f.e.log.Warn("more mailboxes failed with the same code (each mailbox's status in the API and the dashboard has its error)",
		"code", code, "mailboxes", w.suppressed, "within", f.window.String(), "hint", w.hint)
	w.suppressed = 0
}
