package engine

import (
	"context"
	"errors"
	"time"

	"github.com/calsync/calsync/store"
)

// setState records the worker's state; persist=true also stores it.
func (w *worker) setState(state string, persist bool) {
	st, ok := w.e.updateStatus(w.smtp, func(st *store.MailboxStatus) { st.State = state })
	if ok && persist {
		w.saveStatus(st)
	}
}

func (w *worker) saveStatus(st store.MailboxStatus) {
	if st.SMTP == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
	defer cancel()
	if err := w.e.st.SaveStatus(ctx, st); err != nil {
		w.e.log.Warn("saving mailbox status failed", "smtp", w.smtp, "err", err)
		return
	}
	w.persistedState, w.persistedAt = st.State, w.e.clk.Now()
}

// setError records err as the mailbox's last error.
func (w *worker) setError(err error, code, hint string) store.MailboxStatus {
	now := w.e.clk.Now()
	st, _ := w.e.updateStatus(w.smtp, func(st *store.MailboxStatus) {
		st.LastError = &store.SyncError{Code: code, Message: err.Error(), Hint: hint, At: now}
		st.ConsecutiveFailures = w.failures
	})
	return st
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
	code := ErrorCode(err)
	if errors.Is(err, context.Canceled) {
		r = recovery{act: actRetry, hint: "The request was cancelled; calsync retries."}
		code = "Cancelled"
	}
	if r.hint == "" {
		r.hint = "Unexpected error; calsync retries with exponential back-off."
	}
	w.setError(err, code, r.hint)
	w.answer(err)
	state := StateBackoff
	delay := w.e.backoffDelay(w.failures)
	switch r.act {
	case actResubscribe:
		w.dropSubscription()
		w.need |= needDiscover | needSubscribe | needRead
		if w.failures == 1 {
			delay = 0
		}
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
			delay = min(h, w.e.opts.Budget.MaxBackOff)
		} else {
			delay = w.e.jitter(w.e.opts.Budget.ThrottlePause, 0.5)
		}
	case actAuth:
		// The credential gate already holds all traffic and probes; the
		// worker backs off exponentially up to SlowRetry (instead of
		// RetryMax) so that it does not queue at the gate needlessly.
		delay = w.e.jitter(expBackoff(w.e.opts.RetryBase, w.e.opts.SlowRetry, w.failures), 0.5)
	case actDenied:
		state = StateDenied
		delay = w.e.jitter(w.e.opts.SlowRetry, 0.2)
		w.dropSubscription()
		w.need |= needDiscover | needSubscribe | needRead
	}
	w.e.failureLog.warn(w.smtp, code, err, "failures", w.failures, "retry_in", delay)
	st, _ := w.e.updateStatus(w.smtp, func(st *store.MailboxStatus) { st.State = state })
	w.saveStatus(st)
	if delay <= 0 {
		return true
	}
	return w.waitBackoff(delay)
}

// waitBackoff waits d; a manual sync or a stop ends the wait early.
func (w *worker) waitBackoff(d time.Duration) bool {
	t := w.e.clk.NewTimer(d)
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

// finish runs when the worker stops: it leaves its streaming group, ends
// the subscription of a removed mailbox and deletes what the store holds
// for it (a user taken out of the users source leaves no calendar data
// behind), or else stores the final status.
func (w *worker) finish() {
	w.mu.Lock()
	removed := w.removed
	w.mu.Unlock()
	if w.e.opts.Mode == Streaming && w.group != "" {
		w.e.streams.detach(w.group, w.smtp)
		w.e.streams.leave(w.group, w.smtp)
	}
	if w.sub.ID != "" {
		w.e.metrics.subscriptions.WithLabelValues(string(w.e.opts.Mode)).Dec()
		if removed {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 5*time.Second)
			if err := w.e.ex.Unsubscribe(ctx, w.target(), w.sub.ID); err != nil {
				w.e.log.Info("unsubscribe of removed mailbox failed (it will expire)", "smtp", w.smtp, "err", err)
			}
			cancel()
		}
	}
	w.answer(errors.New("engine: mailbox worker stopped"))
	w.e.mu.Lock()
	st, known := w.e.status[w.smtp]
	report := false
	if known && w.e.workers[w.smtp] == w {
		w.e.metrics.states.WithLabelValues(st.State).Dec()
		w.e.metrics.states.WithLabelValues(StateStopped).Inc()
		report = st.State != StateStopped
		st.State = StateStopped
		w.e.status[w.smtp] = st
	}
	if w.e.retiring[w.smtp] == w {
		delete(w.e.retiring, w.smtp)
	}
	w.e.mu.Unlock()
	if report {
		w.e.sink.StatusChanged(copyStatus(st))
	}
	if removed {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 10*time.Second)
		defer cancel()
		if err := w.e.opts.Store.DeleteMailbox(ctx, w.smtp); err != nil && !errors.Is(err, store.ErrNotFound) {
			w.e.log.Warn("deleting the stored data of a removed mailbox failed", "smtp", w.smtp, "err", err)
		}
		return
	}
	if known {
		st.State = StateStopped
		w.saveStatus(st)
	}
}
