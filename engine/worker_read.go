package engine

// Reading: a worker re-reads its mailbox's window with CalendarView (and the
// automatic-reply settings when due) and commits both with the checkpoint
// in one store transaction. A further per-mailbox read (another setting
// Exchange keeps for the mailbox) belongs here: a need bit in worker.go
// says when it is due, step() dispatches to its method, and its result
// goes to the store and, when it changed, to the sink.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// refreshOOF re-reads only the automatic-reply settings.
func (w *worker) refreshOOF() error {
	s, err := w.readOOF()
	if err != nil {
		return err
	}
	w.need &^= needOOF
	w.scheduleOOF()
	if w.oof != nil && *w.oof == s {
		return nil
	}
	if err := w.saveOOF(s); err != nil {
		return err
	}
	w.keepOOF(&s)
	w.env.sink.CalendarChanged(w.smtp)
	return nil
}

// saveOOF stores the automatic-reply settings under a store deadline of
// their own. It used to share the deadline of the window's commit before
// it, and got what that commit left: during a load on a starved machine a
// commit waits its turn behind hundreds of others in the store's group
// commit (seconds, though bolt then finishes it whatever the deadline), so
// the settings' write could find its deadline gone before it began and the
// mailbox failed although nothing was wrong ("save OOF: boltstore: context
// deadline exceeded", TestChaos at load 35–39). storeTimeout bounds one
// write that does not come back, not the time the machine was busy
// before it.
func (w *worker) saveOOF(s calendar.OOFSettings) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
	defer cancel()
	if err := w.env.st.SaveOOF(sctx, w.smtp, s); err != nil {
		return fmt.Errorf("engine: save OOF of %s: %w", w.smtp, err)
	}
	return nil
}

// readOOF asks Exchange for the mailbox's automatic-reply settings.
func (w *worker) readOOF() (calendar.OOFSettings, error) {
	var s calendar.OOFSettings
	err := w.call(w.ctx, func(ctx context.Context) error {
		var err error
		s, err = w.env.ex.OOF(ctx, w.target())
		return err
	})
	return s, err
}

// scheduleOOF plans the next automatic-replies refresh, if enabled.
func (w *worker) scheduleOOF() {
	if w.env.opts.OOFInterval <= 0 || w.env.tipsPolled.Load() {
		w.nextOOF = time.Time{}
		return
	}
	w.nextOOF = w.env.clk.Now().Add(w.env.jitter(w.env.opts.OOFInterval, 0.2))
}

// read re-reads the window (and OOF when due) and commits atomically.
func (w *worker) read() error {
	if w.skipReplayed() {
		return nil
	}
	retry := w.readOwed
	w.readOwed = true
	now := w.env.clk.Now()
	reason := w.readReason
	if !w.loaded {
		w.setState(StateLoading, false)
		reason = "initial"
	} else {
		w.setState(StateResyncing, false)
		if reason == "" {
			reason = "roll"
		}
	}
	restart := !w.loaded && !w.window.IsZero()
	label := readLabel(reason, restart, retry)
	// Hints up to now are covered by this read, and so are the SyncNow
	// requests made so far; later ones wait for the next read (their
	// trigSync is still pending), which sees changes made before them.
	w.mu.Lock()
	w.pending &^= trigHint
	w.firstHint = time.Time{}
	w.takeHintedLocked()
	covered := w.replies
	w.replies = nil
	w.mu.Unlock()
	answered := false
	defer func() {
		if !answered {
			// Failed (or panicked): handleFailure answers them with the error.
			w.mu.Lock()
			w.replies = append(covered, w.replies...)
			w.mu.Unlock()
		}
	}()
	hintAt := w.hintAt
	w.coalesceUntil, w.hintAt = time.Time{}, time.Time{}

	win := w.env.opts.Window.windowAt(now, w.loc)
	state, stale := w.syncState, w.stateStale
	var occs []calendar.Occurrence
	patched := false
	if w.checksState(reason, restart, hintAt) {
		next, changed, ok, changes, err := w.checkSyncState()
		if err != nil {
			w.restoreHint(hintAt)
			return err
		}
		if ok {
			if !changed && win == w.window {
				// Nothing changed since the stored window was read.
				if err := w.saveSubscription(now); err != nil {
					w.restoreHint(hintAt)
					return err
				}
				answered = true
				w.verified(now, covered, nil)
				w.armReplay(reason)
				return nil
			}
			state, stale = next, false
			// Only single items changed: the check's answer holds them
			// (syncpatch.go), no CalendarView needed.
			occs, patched = w.patchWindow(changes, win)
		}
	} else if !hintAt.IsZero() {
		stale = true
	}
	if patched {
		w.env.metrics.syncPatches.Inc()
	} else {
		var release func()
		var err error
		if occs, release, err = w.view(w.ctx, win.Start, win.End, 0, label); err != nil {
			w.restoreHint(hintAt)
			return err
		}
		// The page's memory goes back to the Exchange implementation when
		// this read is done with occs (the commit copies what it stores).
		defer releasePage(release)
	}
	occs = w.sanitize(occs)
	var oof *calendar.OOFSettings
	fullRead := w.need&needOOF != 0
	if fullRead {
		s, err := w.readOOF()
		if err != nil {
			w.restoreHint(hintAt)
			return err
		}
		oof = &s
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
	defer cancel()
	w.window, w.syncState, w.stateStale = win, state, stale
	// The status this read leaves, when due to be stored, goes with the
	// window: one write per read (the first load's "live" included).
	saved := w.statusToStore(len(occs))
	// So do automatic replies that changed (a first load without mail
	// tips reads them): stored with the window, they cost no second
	// write, and a crash cannot keep the one without the other.
	var newOOF *calendar.OOFSettings
	if oof != nil && (w.oof == nil || *w.oof != *oof) {
		newOOF = oof
	}
	if err := w.env.st.CommitWindow(sctx, w.smtp, store.WindowCommit{Occurrences: occs, Checkpoint: w.checkpoint(now), Status: saved, OOF: newOOF}); err != nil {
		w.restoreHint(hintAt)
		return fmt.Errorf("engine: commit %s: %w", w.smtp, err)
	}
	w.subUnsaved = false
	w.env.metrics.commits.Inc()
	w.env.metrics.resyncs.WithLabelValues(reason).Inc()
	changed := newOOF != nil
	if oof != nil {
		w.keepOOF(oof)
	}
	fp := fingerprint(occs)
	if !w.haveFP || fp != w.fingerprint {
		changed = true
	}
	w.fingerprint, w.haveFP = fp, true
	w.need &^= needOOF
	done := w.env.clk.Now()
	if !hintAt.IsZero() {
		w.env.metrics.syncLag.Observe(done.Sub(hintAt).Seconds())
	}
	if fullRead {
		// Window and OOF were just verified: the next reconciliation is a
		// full interval away (spread by jitter), so that initial loads are
		// not followed by early reconciliations.
		w.scheduleReconcile(false)
		w.scheduleOOF()
	}
	w.env.status.update(w.smtp, func(st *store.MailboxStatus) { st.Occurrences = len(occs) })
	answered = true
	w.verified(now, covered, saved)
	w.armReplay(reason)
	if changed {
		w.env.sink.CalendarChanged(w.smtp)
	}
	return nil
}

// checksState reports whether a read should first ask Exchange whether
// the calendar changed since the stored sync state: reconciliations always
// do (they take a first state, or a fresh one); restarts and recoveries
// do when the state is current, which saves the window read of every
// quiet mailbox. A notification's read goes straight to the window (the
// state would only repeat the change).
func (w *worker) checksState(reason string, restart bool, hintAt time.Time) bool {
	if !hintAt.IsZero() || w.window.IsZero() || w.untracked {
		return false
	}
	switch {
	case reason == "reconcile":
		return true
	case restart, recovering(reason):
		return w.syncState != "" && !w.stateStale
	}
	return false
}

// recovering reports whether a read's reason is a recovery's: after a
// streaming connection's cut (reconnect), a lost subscription
// (resubscribe) or stale routing (rediscover), changes may have been made
// without an event, and no event tells which.
func recovering(reason string) bool {
	switch reason {
	case "reconnect", "resubscribe", "rediscover":
		return true
	}
	return false
}

// readLabel is the reason a read's CalendarView requests are counted
// under (metrics.reads): a retry after a read that began and failed, a
// restart's first read, or the read's reason. Retries are told apart so
// that a load's requests beyond one per mailbox show whether failures or
// lost events caused them.
func readLabel(reason string, restart, retry bool) string {
	switch {
	case retry:
		return "retry"
	case restart:
		return "restart"
	}
	return reason
}

// verified ends a read that proved the stored window current, by reading
// it or by a sync state that reported no change. saved is the status the
// read's commit stored (statusToStore), nil if it stored none.
func (w *worker) verified(now time.Time, covered []chan error, saved *store.MailboxStatus) {
	w.need &^= needRead
	w.loaded = true
	w.readReason = ""
	w.readOwed = false
	w.nextRoll = w.rollAfter(now)
	if w.nextReconcile.IsZero() {
		// A restart verified by its sync state: no full read scheduled it.
		w.scheduleReconcile(false)
	}
	done := w.env.clk.Now()
	persist := w.statusDue(done)
	if saved != nil {
		done, persist = saved.LastVerified, false
		w.persistedState, w.persistedAt = saved.State, done
	}
	w.changeStatus(persist, liveAt(done))
	for _, r := range covered {
		r <- nil
	}
}

// statusDue reports whether a verified read stores the status. The commit
// already made the data durable; the status (last verified, counts) is
// persisted on state changes and at most once a minute, so that a busy
// mailbox does not double the store's write load.
func (w *worker) statusDue(now time.Time) bool {
	return w.persistedState != StateLive || now.Sub(w.persistedAt) >= time.Minute
}

// statusToStore returns the status a read of n occurrences leaves when it
// is due to be stored (nil otherwise), for the read's own commit.
func (w *worker) statusToStore(n int) *store.MailboxStatus {
	now := w.env.clk.Now()
	if !w.statusDue(now) {
		return nil
	}
	st, ok := w.env.status.get(w.smtp)
	if !ok {
		return nil
	}
	st.Occurrences = n
	liveAt(now)(&st)
	return &st
}

// liveAt is the status change of a read verified at t.
func liveAt(t time.Time) func(*store.MailboxStatus) {
	return func(st *store.MailboxStatus) {
		st.LastVerified = t
		st.ConsecutiveFailures = 0
		st.State = StateLive
	}
}

// rollAfter returns when the window read at now rolls: the next local
// midnight, spread over five minutes so that mailboxes do not all re-read
// at once.
func (w *worker) rollAfter(now time.Time) time.Time {
	return nextRoll(now, w.loc).Add(w.env.jitter(5*time.Minute, 1))
}

// sanitize drops occurrences a hostile or buggy server sent twice or
// with impossible times, so that one bad item cannot block the mailbox.
func (w *worker) sanitize(occs []calendar.Occurrence) []calendar.Occurrence {
	seen := seenIDs.Get().(map[string]bool)
	defer recycleSeen(seen)
	out := occs[:0]
	for _, o := range occs {
		if err := o.Validate(); err != nil {
			w.env.log.Warn("ignoring invalid occurrence from Exchange", "smtp", w.smtp, "err", err)
			continue
		}
		if seen[o.ItemID] {
			continue
		}
		seen[o.ItemID] = true
		out = append(out, o)
	}
	return out
}

// seenIDs recycle sanitize's sets: one per read otherwise.
var seenIDs = sync.Pool{New: func() any { return make(map[string]bool) }}

// recycleSeen empties seen (it holds no ids alive in the pool) and
// recycles it; a rare large one is not kept.
func recycleSeen(seen map[string]bool) {
	if len(seen) > 1024 {
		return
	}
	clear(seen)
	seenIDs.Put(seen)
}

// restoreHint puts a hint batch back after a failed read.
func (w *worker) restoreHint(hintAt time.Time) {
	if !hintAt.IsZero() {
		w.mu.Lock()
		if w.firstHint.IsZero() || hintAt.Before(w.firstHint) {
			w.firstHint = hintAt
		}
		w.pending |= trigHint
		w.mu.Unlock()
	}
}

func (w *worker) checkpoint(now time.Time) store.Checkpoint {
	return store.Checkpoint{
		Window:           w.window,
		SubscriptionID:   w.sub.ID,
		Watermark:        w.sub.Watermark,
		NotificationMode: string(w.env.opts.Mode),
		SyncState:        w.syncState,
		LoadedAt:         now,
	}
}

// view reads [start, end) with CalendarView, splitting the range while
// Exchange truncates the answer.
// The occurrences may be a page's (ViewPage.Release): the caller calls
// the returned release, which may be nil, once it is done with them.
func (w *worker) view(ctx context.Context, start, end time.Time, depth int, label string) ([]calendar.Occurrence, func(), error) {
	var page ViewPage
	err := w.call(ctx, func(ctx context.Context) error {
		// Counted here, where the budget let the request go: a read
		// still queued at a stop returns from w.call unsent.
		w.env.metrics.reads.WithLabelValues(label).Inc()
		var err error
		page, err = w.env.ex.CalendarView(ctx, w.target(), start, end, w.env.opts.MaxViewEntries)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if page.IncludesLastItemInRange {
		return page.Occurrences, page.Release, nil
	}
	return w.viewSplit(ctx, start, end, depth, page)
}

// releasePage calls a page's release, if any.
func releasePage(release func()) {
	if release != nil {
		release()
	}
}

// viewSplit reads a truncated range again in halves. It is not inlined
// into view, whose frame is on the worker's stack during every read (see
// worker.loop).
//
//go:noinline
func (w *worker) viewSplit(ctx context.Context, start, end time.Time, depth int, truncated ViewPage) ([]calendar.Occurrence, func(), error) {
	span := end.Sub(start)
	if span <= 2*time.Minute || depth >= 24 {
		w.env.log.Warn("calendar view still truncated in a minimal range", "smtp", w.smtp, "start", start, "end", end)
		return truncated.Occurrences, truncated.Release, nil
	}
	releasePage(truncated.Release)
	mid := start.Add(span / 2).Truncate(time.Minute)
	left, releaseLeft, err := w.view(ctx, start, mid, depth+1, "split")
	if err != nil {
		return nil, nil, err
	}
	defer releasePage(releaseLeft)
	right, releaseRight, err := w.view(ctx, mid, end, depth+1, "split")
	if err != nil {
		return nil, nil, err
	}
	defer releasePage(releaseRight)
	// A slice of its own: the halves' slices go back to the
	// implementation when this returns.
	seen := make(map[string]bool, len(left))
	out := make([]calendar.Occurrence, 0, len(left)+len(right))
	for _, o := range left {
		seen[o.ItemID] = true
		out = append(out, o)
	}
	for _, o := range right {
		if !seen[o.ItemID] {
			out = append(out, o)
		}
	}
	return out, nil, nil
}
