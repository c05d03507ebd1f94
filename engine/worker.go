package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// trigger is a coalescing message to a worker. Sends never block: they set
// a bit and wake the worker; bits pile up into one pending request.
type trigger uint8

const (
	trigHint        trigger = 1 << iota // notification: coalesce, then re-read
	trigVerify                          // re-read now (stream reconnected)
	trigResubscribe                     // the subscription is gone
	trigRediscover                      // routing is stale
	trigSync                            // manual sync now
	trigOOF                             // automatic replies changed (oofpoll.go)
	trigTimer                           // a parked worker's timer is due (park.go)
	trigAdmit                           // a queued worker's turn came (admit.go)
)

// need is the work a worker still has to do before it is live.
type need uint8

const (
	needDiscover need = 1 << iota
	needSubscribe
	needRead
	needOOF
	needZone // the mailbox's own time zone (worker_zone.go)
	// needPoll: a pull poll is due. It is a step, so that it sends its
	// GetEvents with a slot of the admission gate (admit.go) like every
	// other request of a worker.
	needPoll
)

// storeTimeout bounds one store write; store writes outlive cancellation so
// that a shutdown finishes in-flight commits.
const storeTimeout = 10 * time.Second

// worker syncs one mailbox. Its loop runs on one goroutine started by the
// supervisor; fields below "owned by the loop" are touched only there.
type worker struct {
	env    *workerEnv
	smtp   string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	prev   *worker // previous worker of the same mailbox, still stopping
	wake   chan struct{}
	// announce: the supervisor created the mailbox's status for this
	// worker, which reports it to the sink when it starts.
	announce bool

	mu        sync.Mutex
	pending   trigger
	firstHint time.Time // earliest hint not yet covered by a read
	replies   []chan error
	removed   bool
	hinted    hinted // events of the hints not yet read (worker_replay.go)
	parked    bool   // no goroutine runs the worker (park.go)

	// Places at the admission gates, each guarded by its gate (admit.go).
	restoreSlot, stepSlot admitState
	// parkAt is when the park timers wake the parked worker, parkIdx its
	// place in their heap (-1: none); guarded by parkTimers.mu (parktimers.go).
	parkAt  time.Time
	parkIdx int

	// Owned by the loop (by the one goroutine that runs the worker).
	started    bool        // announced and past awaitPrev
	restored   bool        // restore ran since the last (re)start
	attempt    int         // restarts after a panic
	stopWake   func() bool // context.AfterFunc that wakes a parked worker at the stop
	need       need
	disc       DiscoverResult
	discovered bool
	// routingStale is set when the mailbox's routing is known to be wrong
	// (moved, proxy errors): only a fresh Autodiscover answer will do.
	routingStale bool
	loc          *time.Location
	zoneName     string            // the learnt zone, "" while unknown (loc is then the default)
	zoneAsk      <-chan zoneAnswer // a first load's place in a zone batch (zonebatch.go)
	// discoAsk is the lookup restore queued (discover.go), nil once
	// awaited or when a trigger demands an answer asked after it.
	discoAsk    <-chan DiscoverResult
	group       string
	sub         Subscription
	window      calendar.Window
	fingerprint uint64
	// syncState is the calendar's sync state (syncstate.go), "" if none;
	// stateStale: a notification's read committed after it was taken, so
	// a check would report that change again (and cost a window read).
	syncState  string
	stateStale bool
	untracked  bool // the calendar has too many items for a sync state
	// subUnsaved: sub is a new subscription the stored checkpoint does
	// not name yet (worker_subscribe.go saveSubscription).
	subUnsaved    bool
	haveFP        bool
	oof           *calendar.OOFSettings
	failures      int
	loaded        bool
	wasLive       bool      // live at least once (memrelease.go)
	hintAt        time.Time // first hint of the batch being coalesced
	coalesceUntil time.Time
	nextReconcile time.Time
	nextRoll      time.Time
	nextPull      time.Time
	nextOOF       time.Time
	readReason    string
	replayUntil   time.Time // notifications are checked against the stored window until then (worker_replay.go)
	// readOwed: a read began and has not verified the window yet. The
	// events that asked for it were taken when it began, so a retry cannot
	// tell what it is for and is never skipped as a replay.
	readOwed bool
	// movingSince is when Exchange first said the mailbox is being moved
	// (zero when not); moveTries counts the looks since.
	movingSince time.Time
	moveTries   int
	// persistedState and persistedAt describe the last stored status.
	persistedState string
	persistedAt    time.Time
}

func newWorker(ctx context.Context, cancel context.CancelFunc, env *workerEnv, smtp string) *worker {
	return &worker{env: env, smtp: smtp, ctx: ctx, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1), parkIdx: -1}
}

// notify sets trigger bits and wakes the worker, which resumes on a new
// goroutine if it was parked (park.go); it never blocks.
func (w *worker) notify(t trigger) {
	w.mu.Lock()
	w.pending |= t
	if t&trigHint != 0 && w.firstHint.IsZero() {
		w.firstHint = w.env.clk.Now()
	}
	resume := w.takeParked()
	w.mu.Unlock()
	if resume {
		w.env.resume(w)
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// hint reports notification events for the mailbox.
func (w *worker) hint(at time.Time) {
	w.notify(trigHint)
	w.env.status.update(w.smtp, func(st *store.MailboxStatus) { st.LastEvent = at })
}

func (w *worker) requestSync(reply chan error) {
	w.mu.Lock()
	w.replies = append(w.replies, reply)
	w.mu.Unlock()
	w.notify(trigSync)
}

func (w *worker) answer(err error) {
	w.mu.Lock()
	rs := w.replies
	w.replies = nil
	w.mu.Unlock()
	for _, r := range rs {
		r <- err
	}
}

// stop cancels the worker and waits for it. removed=true also ends its
// subscription, because the mailbox is no longer synced.
func (w *worker) stop(removed bool) {
	if removed {
		w.markRemoved()
	}
	w.cancel()
	<-w.done
}

// markRemoved makes the stopping worker end its subscription.
func (w *worker) markRemoved() {
	w.mu.Lock()
	w.removed = true
	w.mu.Unlock()
}

// loop runs the state machine until the worker is stopped or parks,
// restarting it with back-off after a panic. When it was stopped it then
// ends the worker's part in the groups and its subscription (the
// supervisor retires it next); when it parked (parked=true) the goroutine
// must not touch the worker any more: a wake runs loop again on another
// goroutine, which continues where this one parked (park.go).
//
// The frames of loop and run stay on the worker's goroutine while it
// waits without parking (back-off, the gate, the anchor): what they do
// rarely is in functions of its own that are not inlined (go:noinline),
// so that a waiting worker's stack stays small enough for the garbage
// collector to shrink it to the minimum (see deeppool.go).
func (w *worker) loop() (parked bool) {
	defer func() {
		if !parked {
			w.leave()
		}
	}()
	if w.started {
		w.unparked()
	} else {
		w.started = true
		if w.announce {
			w.announceStatus()
		}
		if w.prev != nil && !w.awaitPrev() {
			return false
		}
	}
	for {
		panicked, parked := w.runRecovered()
		if parked {
			return true
		}
		if !panicked || w.ctx.Err() != nil {
			return false
		}
		w.attempt++
		if w.restartDelay(w.attempt) != nil {
			return false
		}
	}
}

// announceStatus reports the status the supervisor created for the worker.
//
//go:noinline
func (w *worker) announceStatus() {
	if st, ok := w.env.status.get(w.smtp); ok {
		w.env.sink.StatusChanged(st)
	}
}

// awaitPrev waits for the previous worker of the mailbox to finish; false:
// this worker was stopped before it started.
//
//go:noinline
func (w *worker) awaitPrev() bool {
	select {
	case <-w.prev.done:
		return true
	default:
	}
	w.env.log.Debug("waiting for the previous worker of the mailbox to finish", "smtp", w.smtp)
	select {
	case <-w.prev.done:
		return true
	case <-w.ctx.Done():
		// Stopped before it started. A worker started after this one
		// waits only for this one, so this one must not finish before
		// its predecessor does: each mailbox keeps a single writer
		// even when Remove and Add race.
		w.env.log.Debug("mailbox worker stopped before it started; waiting for the previous one to finish", "smtp", w.smtp)
		<-w.prev.done
		return false
	}
}

// restartDelay waits before the attempt-th restart after a panic.
//
//go:noinline
func (w *worker) restartDelay(attempt int) error {
	return sleep(w.ctx, w.env.clk, w.env.backoffDelay(attempt))
}

// runRecovered runs the state machine and reports whether it panicked or
// parked.
func (w *worker) runRecovered() (panicked, parked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked, parked = true, false
			w.restored = false // the restart resumes from the store
			w.env.restores.leave(w)
			w.env.admit.leave(w)
			w.env.log.Error("mailbox worker panicked; restarting", "smtp", w.smtp, "panic", r)
			w.setError(fmt.Errorf("engine: internal error: %v", r), "InternalError", "calsync hit an internal error and restarted the mailbox's worker; please report it.")
		}
	}()
	return false, w.run()
}

// run steps the state machine until the worker is stopped (false) or
// parks (true).
func (w *worker) run() (parked bool) {
	for w.ctx.Err() == nil {
		if !w.restored {
			if ok, parked := w.admitted(w.env.restores); !ok {
				if parked {
					return true
				}
				continue
			}
			w.restore()
			w.restored = true
			w.env.restores.leave(w)
		}
		w.collect()
		if w.need != 0 {
			if ok, parked := w.admitted(w.env.admit); !ok {
				if parked {
					return true
				}
				continue
			}
			if err := w.step(); err != nil {
				// The back-off waits without a slot (admit.go).
				w.env.admit.leave(w)
				if !w.handleFailure(err) {
					return false
				}
			}
			continue
		}
		w.env.admit.leave(w)
		w.becomeLive()
		parked, err := w.waitLive()
		if parked {
			return true
		}
		if err != nil {
			if !w.handleFailure(err) {
				return false
			}
		}
	}
	return false
}

// becomeLive marks the worker live: every need is met.
//
//go:noinline
func (w *worker) becomeLive() {
	if !w.wasLive {
		w.wasLive = true
		w.env.loads.ended(true)
	}
	w.failures = 0
	w.movingSince, w.moveTries = time.Time{}, 0
	w.setState(StateLive, false)
}

// collect turns pending triggers into needs.
func (w *worker) collect() {
	w.mu.Lock()
	p := w.pending
	w.pending = 0
	first := w.firstHint
	w.mu.Unlock()
	now := w.env.clk.Now()
	if p&(trigRediscover|trigResubscribe) != 0 {
		// The lookup queued at restore may predate what made the mailbox
		// need one (a move): ask again.
		w.discoAsk = nil
	}
	if p&trigRediscover != 0 {
		w.need |= needDiscover | needSubscribe | needRead
		w.routingStale = true
		w.readReason = "rediscover"
	}
	if p&trigResubscribe != 0 {
		// A lost subscription may mean the mailbox moved: Autodiscover is
		// batched and cheap, so look again before resubscribing.
		w.need |= needDiscover | needSubscribe | needRead
		w.readReason = "resubscribe"
	}
	if p&trigVerify != 0 {
		// A notification's read due by now must not absorb the re-read of
		// a reconnected stream: the notification may be a covered replay
		// (worker_replay.go) while changes made during the gap have no event.
		w.need |= needRead
		if w.readReason == "" || w.readReason == "notification" {
			w.readReason = "reconnect"
		}
	}
	if p&trigSync != 0 {
		w.need |= needRead | needOOF
		w.readReason = "manual"
	}
	if p&trigOOF != 0 {
		w.need |= needOOF
	}
	if p&trigHint != 0 && w.coalesceUntil.IsZero() {
		if first.IsZero() {
			first = now
		}
		w.hintAt = first
		w.coalesceUntil = first.Add(w.env.opts.CoalesceDelay)
	}
	if !w.coalesceUntil.IsZero() && !now.Before(w.coalesceUntil) {
		w.need |= needRead
		if w.readReason == "" {
			w.readReason = "notification"
		}
	}
}

// step performs the most urgent piece of work.
func (w *worker) step() error {
	switch {
	case w.need&needDiscover != 0:
		return w.discover()
	case w.need&needSubscribe != 0:
		return w.subscribe()
	case w.need&needPoll != 0:
		return w.poll()
	case w.need&needZone != 0:
		return w.learnZone()
	case w.need&needRead == 0:
		return w.refreshOOF()
	default:
		return w.read()
	}
}

// scheduleReconcile plans the next periodic re-read, spread over the interval.
func (w *worker) scheduleReconcile(first bool) {
	iv := w.env.opts.ReconcileInterval
	if iv < 0 {
		w.nextReconcile = time.Time{}
		return
	}
	d := w.env.jitter(iv, 0.2)
	if first {
		d = w.env.jitter(iv, 1)
	}
	w.nextReconcile = w.env.clk.Now().Add(d)
}

// waitLive handles the timers that are due, or parks the worker until a
// trigger, its next timer or the stop (parked=true: the goroutine lets go).
func (w *worker) waitLive() (parked bool, err error) {
	now, next := w.nextTimer()
	if !next.IsZero() && !next.After(now) {
		return false, w.due(now)
	}
	return w.park(next), nil
}

// nextTimer returns the time now and the earliest timer (zero if none).
//
//go:noinline
func (w *worker) nextTimer() (now, next time.Time) {
	now = w.env.clk.Now()
	for _, t := range []time.Time{w.coalesceUntil, w.nextReconcile, w.nextRoll, w.pullDue(), w.nextOOF} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return now, next
}

func (w *worker) pullDue() time.Time {
	if w.env.opts.Mode != Pull || w.sub.ID == "" {
		return time.Time{}
	}
	return w.nextPull
}

// due handles timers that have expired.
func (w *worker) due(now time.Time) error {
	if !w.nextReconcile.IsZero() && !now.Before(w.nextReconcile) {
		w.need |= needRead | needOOF | needZone
		w.readReason = "reconcile"
		w.scheduleReconcile(false)
	}
	if !w.nextRoll.IsZero() && !now.Before(w.nextRoll) {
		w.need |= needRead
		w.nextRoll = time.Time{}
		if w.readReason == "" {
			w.readReason = "roll"
		}
	}
	if !w.coalesceUntil.IsZero() && !now.Before(w.coalesceUntil) {
		w.need |= needRead
		if w.readReason == "" {
			w.readReason = "notification"
		}
	}
	if !w.nextOOF.IsZero() && !now.Before(w.nextOOF) {
		w.need |= needOOF
		w.nextOOF = time.Time{}
	}
	if d := w.pullDue(); !d.IsZero() && !now.Before(d) {
		w.need |= needPoll
	}
	return nil
}
