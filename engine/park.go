package engine

import (
	"context"
	"time"
)

// Parking: a live worker with nothing to do keeps no goroutine.
//
// Why: a live mailbox waits almost all the time — for a notification, a
// timer (reconciliation, window roll, coalescing, pull, automatic
// replies), a manual sync or the stop. One goroutine per mailbox parked in
// that wait kept a stack each (43.7 MiB at 10,000 mailboxes after the
// load, a third of the process's RSS, docs/BENCHMARKS.md "Memory"). A
// parked worker is only its struct: its state is in its fields, its next
// timer is its place in the engine's heap of park timers (parktimers.go),
// its stop is a context.AfterFunc. Whatever wakes it — notify (hints, SyncNow, the
// streams, the mail-tip poller), the timer, the cancellation — starts it
// again on a new goroutine through the supervisor (workerEnv.resume),
// where its loop continues as if it had returned from the wait.
//
// One writer per mailbox: the worker sets parked under its mutex as the
// last thing its goroutine does with it, and only the one caller that
// finds parked set and clears it (under the same mutex) starts the next
// goroutine, so at most one goroutine runs a worker at any time, and each
// starts after the previous one let go of the worker's fields. A wake that
// comes before the worker parks is a pending trigger or the cancelled
// context, both checked under that mutex before parking: nothing is lost.

// park makes the worker's goroutine let go of it until a trigger, the
// timer at next (zero: none) or the stop. It reports false when there is
// something to do already (the loop goes on instead).
func (w *worker) park(next time.Time) bool {
	w.armStopWake()
	if !next.IsZero() {
		// Armed before parking: a timer that fires before the worker
		// parked leaves a pending trigger, and the worker does not park.
		w.env.parks.arm(w, next)
	}
	w.mu.Lock()
	if w.pending != 0 || w.ctx.Err() != nil {
		w.mu.Unlock()
		w.stopTimer()
		return false
	}
	w.parked = true
	w.mu.Unlock()
	return true
}

// admitted reports whether the worker holds a slot of the admission gate
// g (admit.go). If not, it is queued and parks until its turn, a trigger
// or the stop (parked=true: the goroutine lets go); parked=false with
// ok=false: look again.
func (w *worker) admitted(g *admission) (ok, parked bool) {
	if g.enter(w) {
		return true, false
	}
	return false, w.parkQueued()
}

// parkQueued parks a worker that waits for its turn at the admission gate.
// Unlike park it lets other triggers wait in pending (they are collected
// once the worker is admitted); only its turn or the stop keep it from
// parking. Its timers are armed again when it next waits live.
//
//go:noinline
func (w *worker) parkQueued() bool {
	w.armStopWake()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending&trigAdmit != 0 || w.ctx.Err() != nil {
		w.pending &^= trigAdmit
		return false
	}
	w.parked = true
	return true
}

// armStopWake makes the stop of a parked worker wake it, so that it
// leaves its groups and the supervisor retires it. Registered once.
func (w *worker) armStopWake() {
	if w.stopWake == nil {
		w.stopWake = context.AfterFunc(w.ctx, func() { w.notify(0) })
	}
}

// unparked runs first on the goroutine that resumes a parked worker.
func (w *worker) unparked() {
	w.stopTimer()
	// A token sent while the worker ran before it parked means nothing
	// now: the triggers are in pending.
	select {
	case <-w.wake:
	default:
	}
}

// stopTimer takes the worker's due time out of the park timers.
func (w *worker) stopTimer() {
	w.env.parks.stop(w)
}

// takeParked clears parked and reports whether it was set: the caller
// then owns the worker and must resume it. w.mu must be held.
func (w *worker) takeParked() bool {
	p := w.parked
	w.parked = false
	return p
}
