// Package clock abstracts time so that the engine, the presence scheduler and
// the simulator can be driven by a fake clock in tests.
//
// Every component that needs the current time or a timer takes a Clock; none
// calls time.Now directly.
package clock

import (
	"sync"
	"time"
)

// Clock is the source of time. Implementations are safe for concurrent use.
type Clock interface {
	// Now returns the current instant.
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer, like *time.Timer.
type Timer interface {
	// C delivers the instant the timer fired.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was active.
	Stop() bool
	// Reset re-arms the timer to fire after d.
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// AfterFunc wraps time.AfterFunc: f runs on its own goroutine after d.
// Not part of Clock (callers check for it): a waiter that needs no
// goroutine of its own while it waits (the engine's parked workers) uses it.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// Fake is a manually advanced clock for tests. The zero value is not usable;
// create one with NewFake. Safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake clock reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{clock: f, c: make(chan time.Time, 1)}
	t.resetLocked(d)
	f.timers = append(f.timers, t)
	if d <= 0 {
		f.fireDueLocked()
	}
	return t
}

// AfterFunc returns a timer that runs f on its own goroutine when the fake
// clock reaches now+d (its C delivers nothing).
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{clock: f, c: make(chan time.Time, 1), f: fn}
	t.resetLocked(d)
	f.timers = append(f.timers, t)
	if d <= 0 {
		f.fireDueLocked()
	}
	return t
}

// Advance moves the clock forward by d and fires every timer that is due, in
// deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.fireDueLocked()
}

// Set moves the clock to t (which must not be before Now) and fires due timers.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.now = t
	}
	f.fireDueLocked()
}

// PendingTimers reports how many timers are armed; tests use it to wait until
// a component has scheduled its next wake-up.
func (f *Fake) PendingTimers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.timers {
		if t.active {
			n++
		}
	}
	return n
}

func (f *Fake) fireDueLocked() {
	for {
		var next *fakeTimer
		for _, t := range f.timers {
			if t.active && !t.deadline.After(f.now) && (next == nil || t.deadline.Before(next.deadline)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		next.active = false
		if next.f != nil {
			go next.f()
			continue
		}
		select {
		case next.c <- f.now:
		default:
		}
	}
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.active {
			kept = append(kept, t)
		}
	}
	f.timers = kept
}

type fakeTimer struct {
	clock    *Fake
	c        chan time.Time
	deadline time.Time
	active   bool
	f        func() // AfterFunc's; nil for a channel timer
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := t.active
	t.resetLocked(d)
	found := false
	for _, x := range t.clock.timers {
		if x == t {
			found = true
		}
	}
	if !found {
		t.clock.timers = append(t.clock.timers, t)
	}
	t.clock.fireDueLocked()
	return was
}

func (t *fakeTimer) resetLocked(d time.Duration) {
	t.deadline = t.clock.now.Add(d)
	t.active = true
}
