package engine

import (
	"context"
	"errors"
	"time"

	"github.com/calsync/calsync/store"
)

// restore resumes from the stored checkpoint.
func (w *worker) restore() {
	o := w.env.opts
	w.need = needDiscover | needSubscribe | needZone | needRead
	// A first load joins a batch of zone reads now, so that the batches
	// fill while the workers discover and subscribe (zonebatch.go).
	defer w.askZone()
	// Every restore leads to a lookup: queue it now for the same reason
	// (discover.go); the discover step awaits it.
	w.discoAsk = w.env.disco.ask(w.smtp)
	if !w.env.tipsPolled.Load() {
		// While tips are polled, no mailbox reads its automatic replies at
		// load or restart: the poller's first tip of each mailbox (50 or
		// so per GetMailTips) is checked against the stored settings, or
		// against "none" for a mailbox never read, and wakes only the
		// workers whose replies are on or changed (oofpoll.go). Without
		// tips the load reads them, then OOFInterval and reconciliation.
		w.need |= needOOF
	}
	w.zoneName, w.loc = "", o.Window.DefaultTimeZone
	w.sub, w.subUnsaved = Subscription{}, false
	w.syncState, w.stateStale = "", false
	rec, err := w.env.st.Mailbox(w.ctx, w.smtp)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			w.env.log.Warn("reading stored checkpoint failed; starting fresh", "smtp", w.smtp, "err", err)
			return
		}
		w.keepOOF(nil) // nothing stored
		return
	}
	cp := rec.Checkpoint
	w.window = cp.Window
	w.syncState = cp.SyncState
	if !cp.Window.IsZero() {
		// Loaded before: the zone was learnt before that read and is in
		// the status; the reconciliation reads it again, as it does while
		// running, so a restart costs no zone request per mailbox.
		w.need &^= needZone
	}
	// The zone learnt before the restart decides the window until it is
	// read again.
	w.zoneName, w.loc = knownZone(rec.Status.TimeZone, o.Window.DefaultTimeZone)
	w.keepOOF(rec.OOF)
	w.env.status.update(w.smtp, func(st *store.MailboxStatus) {
		st.LastVerified = rec.Status.LastVerified
		st.LastEvent = rec.Status.LastEvent
		st.Occurrences = rec.Status.Occurrences
		st.LastError = rec.Status.LastError
		st.TimeZone = w.zoneName
	})
	if cp.SubscriptionID != "" && cp.NotificationMode == string(o.Mode) && w.resumable() {
		// Reuse the subscription: streaming re-verifies with one read; pull
		// polls from the stored watermark and reads only if the window
		// rolled or events arrived.
		w.sub = Subscription{ID: cp.SubscriptionID, Watermark: cp.Watermark}
		w.env.metrics.subscriptions.WithLabelValues(string(o.Mode)).Inc()
		w.need &^= needSubscribe
		if o.Mode == Pull && cp.Window == o.Window.windowAt(w.env.clk.Now(), w.loc) && !cp.Window.IsZero() {
			w.need &^= needRead | needOOF
			w.loaded = true
			w.nextPull = w.env.clk.Now()
			// No read at start, so arm the window roll here (a read
			// arms it otherwise); discover re-arms it in the mailbox's zone.
			w.nextRoll = w.rollAfter(w.env.clk.Now())
			// No read at start: spread the first reconciliation over the
			// interval so that a restart does not re-read every mailbox at once.
			w.scheduleReconcile(true)
			w.scheduleOOF()
		}
	}
}

// resumable reports whether the stored subscription may be reused: not
// in a cluster (Options.HandedOver set). The instance that stored it may
// still be alive — paused past its lease, or not yet aware that it lost
// the mailbox — and use the id again: open its GetStreamingEvents
// connection with it, or poll it. A streaming subscription streams on one
// connection; the simulator moves it to the newest, and the older
// connection goes on with its other subscriptions without a word about
// the one it lost (Microsoft documents nothing else). The new owner's
// stream then carried the mailbox's id without its events: in the cluster
// chaos test an instance continued after SIGSTOP reopened its connection
// with the 200 ids it had lost, half a second before it dropped those
// mailboxes, and a created item stayed unread for good. A subscription of
// its own is the new owner's alone; the old one expires unused. It costs
// one Subscribe per mailbox taken over; a single instance's restart (its
// previous process is gone) resumes as before.
func (w *worker) resumable() bool {
	return w.env.opts.HandedOver == nil
}

// setState records the worker's state; persist=true also stores it.
func (w *worker) setState(state string, persist bool) {
	w.changeStatus(persist, func(st *store.MailboxStatus) { st.State = state })
}

// changeStatus applies fn to the mailbox's status. With persist, the new
// status is stored *before* the status table reports the change to the
// sink: the sink's consumers (the presence scheduler) read the mailbox
// from the store, and a report that arrives first can find the old state
// and zone there — a failing mailbox then stays trusted, and a first load
// is published in the default zone before the mailbox's own.
func (w *worker) changeStatus(persist bool, fn func(*store.MailboxStatus)) (store.MailboxStatus, bool) {
	if persist {
		if st, ok := w.env.status.get(w.smtp); ok {
			fn(&st)
			w.saveStatus(st)
		}
	}
	return w.env.status.update(w.smtp, fn)
}

func (w *worker) saveStatus(st store.MailboxStatus) {
	if st.SMTP == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
	defer cancel()
	if err := w.env.st.SaveStatus(ctx, st); err != nil {
		w.env.log.Warn("saving mailbox status failed", "smtp", w.smtp, "err", err)
		return
	}
	w.persistedState, w.persistedAt = st.State, w.env.clk.Now()
}

// setError records err as the mailbox's last error.
func (w *worker) setError(err error, code, hint string) store.MailboxStatus {
	st, _ := w.env.status.update(w.smtp, w.recordError(err, code, hint))
	return st
}

// recordError is the status change that records err as the last error.
func (w *worker) recordError(err error, code, hint string) func(*store.MailboxStatus) {
	rec := store.SyncError{Code: code, Message: Describe(err), Hint: hint, At: w.env.clk.Now()}
	failures := w.failures
	return func(st *store.MailboxStatus) {
		e := rec
		st.LastError = &e
		st.ConsecutiveFailures = failures
	}
}

// handleFailure decides what to do about a failed step: it records the
// error, adjusts the needs and waits the back-off. It returns false when the
// worker must stop.
func (w *worker) handleFailure(err error) bool {
	if w.ctx.Err() != nil {
		return false
	}
	w.failures++
	r := classify(err)
	if r.act == actMoving {
		r.act = w.moving() // recovery_hybrid.go
	}
	code := ErrorCode(err)
	if errors.Is(err, context.Canceled) {
		r = recovery{act: actRetry, hint: "The request was cancelled; calsync retries."}
		code = "Cancelled"
	}
	if r.hint == "" {
		r.hint = "Unexpected error; calsync retries with exponential back-off."
	}
	// The error is recorded with the state it leads to, in one stored
	// change reported once (changeStatus: the sink's consumers read the
	// store).
	recordErr := w.recordError(err, code, r.hint)
	w.answer(err)
	state := StateBackoff
	delay := w.env.backoffDelay(w.failures)
	switch r.act {
	case actResubscribe:
		w.dropSubscription()
		w.need |= needDiscover | needSubscribe | needRead
		if w.failures == 1 {
			delay = 0
		}
	case actMoving:
		delay = w.env.movingDelay(w.moveTries)
		fallthrough
	case actRediscover:
		w.dropSubscription()
		w.need |= needDiscover | needSubscribe | needRead
		w.routingStale = true
	case actResync:
		w.need |= needRead
		if w.failures == 1 {
			delay = 0
		}
	case actThrottled:
		// The budget limiter already pauses the budget concerned; wait for
		// the hint too, so this worker does not queue needlessly.
		if h := backOffHint(err); h > 0 {
			delay = min(h, w.env.opts.Budget.MaxBackOff)
		} else {
			delay = w.env.jitter(w.env.opts.Budget.ThrottlePause, 0.5)
		}
	case actAuth:
		// The credential gate already holds all traffic and probes; the
		// worker backs off exponentially up to SlowRetry (instead of
		// RetryMax) so that it does not queue at the gate needlessly.
		delay = w.env.jitter(expBackoff(w.env.opts.RetryBase, w.env.opts.SlowRetry, w.failures), 0.5)
	case actDenied:
		state = StateDenied
		delay = w.env.jitter(w.env.opts.SlowRetry, 0.2)
		w.dropSubscription()
		w.need |= needDiscover | needSubscribe | needRead
	}
	w.env.failures.warn(w.smtp, code, err, "failures", w.failures, "retry_in", delay)
	w.changeStatus(true, func(st *store.MailboxStatus) {
		recordErr(st)
		st.State = state
	})
	if delay <= 0 {
		return true
	}
	return w.waitBackoff(delay)
}

// waitBackoff waits d; a manual sync or a stop ends the wait early.
func (w *worker) waitBackoff(d time.Duration) bool {
	t := w.env.clk.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return false
		case <-t.C():
			return true
		case <-w.wake:
			w.mu.Lock()
			manual := w.pending&trigSync != 0
			w.mu.Unlock()
			if manual {
				return true
			}
		}
	}
}

// leave runs when the worker's loop ends: it leaves its streaming group,
// ends the subscription of a removed mailbox and fails pending SyncNow
// requests.
func (w *worker) leave() {
	w.mu.Lock()
	removed := w.removed
	w.mu.Unlock()
	if w.env.opts.Mode == Streaming && w.group != "" {
		w.env.groups.detach(w.group, w.smtp)
		w.env.groups.leave(w.group, w.smtp)
	}
	if w.sub.ID != "" {
		w.env.metrics.subscriptions.WithLabelValues(string(w.env.opts.Mode)).Dec()
		if removed && !w.handedOver() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 5*time.Second)
			if err := w.env.ex.Unsubscribe(ctx, w.target(), w.sub.ID); err != nil {
				w.env.log.Info("unsubscribe of removed mailbox failed (it will expire)", "smtp", w.smtp, "err", err)
			}
			cancel()
		}
	}
	w.answer(errors.New("engine: mailbox worker stopped"))
}

// handedOver reports that the removed mailbox moved to another instance,
// which resumes its subscription (Options.HandedOver).
func (w *worker) handedOver() bool {
	h := w.env.opts.HandedOver
	return h != nil && h(w.smtp)
}

// finish runs after the supervisor retired the worker, as its last act
// as the mailbox's single writer: a removed mailbox's stored data is
// deleted (a user taken out of the users source leaves no calendar data
// behind; a mailbox handed to another instance keeps its data for the new
// owner); otherwise final, the stopped status the supervisor set, is
// stored (current=false: the mailbox was removed or has a successor).
func (w *worker) finish(final store.MailboxStatus, current bool) {
	w.mu.Lock()
	removed := w.removed
	w.mu.Unlock()
	if removed && !w.handedOver() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 10*time.Second)
		defer cancel()
		if err := w.env.st.DeleteMailbox(ctx, w.smtp); err != nil && !errors.Is(err, store.ErrNotFound) {
			w.env.log.Warn("deleting the stored data of a removed mailbox failed", "smtp", w.smtp, "err", err)
		}
		return
	}
	if current {
		w.saveStatus(final)
	}
}
