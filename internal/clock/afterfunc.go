package clock

import (
	"sync"
	"time"
)

// FuncClock is a Clock whose timers can call a function instead of
// sending on a channel. Real and Fake are.
type FuncClock interface {
	Clock
	AfterFunc(d time.Duration, f func()) Timer
}

// AfterFunc runs f on its own goroutine after d on c. A clock without
// AfterFunc gets a goroutine that waits on an ordinary timer until it
// fires or is stopped: the same behaviour, at the cost of the goroutine
// that AfterFunc saves. Such a timer calls f at most once; Reset after it
// fired does not call f again (callers that re-arm check for FuncClock).
func AfterFunc(c Clock, d time.Duration, f func()) Timer {
	if fc, ok := c.(FuncClock); ok {
		return fc.AfterFunc(d, f)
	}
	t := &waitingTimer{Timer: c.NewTimer(d), stopped: make(chan struct{})}
	go func() {
		select {
		case <-t.C():
			f()
		case <-t.stopped:
		}
	}()
	return t
}

// waitingTimer is AfterFunc's timer on a clock without AfterFunc.
type waitingTimer struct {
	Timer
	stopOnce sync.Once
	stopped  chan struct{}
}

// Stop stops the timer and ends its waiting goroutine; safe to call more
// than once and concurrently.
func (t *waitingTimer) Stop() bool {
	was := t.Timer.Stop()
	t.stopOnce.Do(func() { close(t.stopped) })
	return was
}
