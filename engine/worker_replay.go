package engine

// Replayed notifications: after a restart, a takeover in a cluster or a
// stream recovery, the mailbox's subscription delivers the events Exchange
// queued meanwhile — changes the window read (or sync-state check) at
// resume already saw. Re-reading the window for them doubled the cost of
// every changed mailbox. A notification's read is skipped when the stored
// window already shows every change its events name:
//
//   - Created, Modified, Copied, FreeBusyChanged of item X with change key
//     K: the stored window holds X at K. K existed when the stored window
//     was read, so the change that made it came before that read.
//   - Deleted X (and the old id of a Moved): X is not stored and the
//     stored window has no occurrences of recurring series (whose ids are
//     not their master's, so a deleted master cannot be told apart).
//   - Of several events naming X, the last decides (events arrive in the
//     order of the changes): created at K1 then modified to K2 is covered
//     when X is stored at K2. FreeBusyChanged does not count here: it
//     follows an item's change or deletion with the item's last change
//     key, so after a Deleted X it would name a version that is gone; it
//     decides only when no other event of the batch names X (then X
//     must be stored at its key).
//   - Anything else (an event without an item id or change key, a Moved
//     into another folder, more events than are kept) is not covered:
//     the window is read, as for every notification.
//
// The check reads the stored occurrences, so it runs only for a while
// after a read or verification that was not itself caused by a
// notification (replayWindow): that is when replays arrive. A later change
// has a change key no read saw yet and is read as before.

import (
	"context"
	"time"

	"github.com/calsync/calsync/calendar"
)

const (
	// replayWindow is how long after a resume (restart, takeover,
	// recovery, reconciliation) notifications are checked against the
	// stored window: the stream that replays them opens within
	// holdMax (30 s) of the subscriptions, give or take regrouping.
	replayWindow = 5 * time.Minute
	// maxHintedEvents bounds the events kept per coalesced batch; a batch
	// with more is read.
	maxHintedEvents = 32
)

// hinted are the events of the notifications gathered for the next read.
// Guarded by worker.mu.
type hinted struct {
	events []Event
	// uncovered: an event was not kept (too many, or a hint without
	// events), so the batch is read.
	uncovered bool
}

// hintEvents reports notification events for the mailbox: a hint (the
// coalesced re-read) that remembers which items changed.
func (w *worker) hintEvents(at time.Time, evs []Event) {
	w.mu.Lock()
	if len(w.hinted.events)+len(evs) > maxHintedEvents || len(evs) == 0 {
		w.hinted.uncovered = true
	} else {
		w.hinted.events = append(w.hinted.events, evs...)
	}
	w.mu.Unlock()
	w.hint(at)
}

// takeHinted returns and forgets the gathered events; the caller holds
// w.mu (the read that covers them takes them with the hint bit).
func (w *worker) takeHintedLocked() hinted {
	h := w.hinted
	w.hinted = hinted{}
	return h
}

// replayCovered reports whether the stored window already shows every
// change the gathered events name, so that the notification's read can be
// skipped. It answers false outside the replay window and whenever it
// cannot tell.
func (w *worker) replayCovered(h hinted) bool {
	if h.uncovered || len(h.events) == 0 || w.replayUntil.IsZero() || w.env.clk.Now().After(w.replayUntil) {
		return false
	}
	var occs []calendar.Occurrence
	err := w.env.deep.run(func() error {
		ctx, cancel := context.WithTimeout(w.ctx, storeTimeout)
		defer cancel()
		var err error
		occs, err = w.env.st.Occurrences(ctx, w.smtp, w.window.Start, w.window.End)
		return err
	})
	if err != nil {
		return false
	}
	return eventsCovered(h.events, occs)
}

// eventsCovered applies the rules above to events against the stored
// occurrences of the window. Events come in the order of the changes, so
// the last event naming an item decides for all of them: if the stored
// window shows the version (or the deletion) the last one names, it shows
// what every earlier one named too.
func eventsCovered(evs []Event, occs []calendar.Occurrence) bool {
	type state struct {
		key  string
		gone bool
	}
	last := make(map[string]state, len(evs))
	var freeBusy []Event
	for _, e := range evs {
		switch e.Kind {
		case EventFreeBusyChanged:
			// Raised with an item's create, change and delete, after it
			// and with the item's last change key (also for a deletion):
			// it names no version of its own (below).
			if e.ItemID == "" || e.ChangeKey == "" {
				return false
			}
			freeBusy = append(freeBusy, e)
		case EventCreated, EventModified, EventCopied:
			if e.ItemID == "" || e.ChangeKey == "" {
				return false
			}
			last[e.ItemID] = state{key: e.ChangeKey}
		case EventDeleted:
			if e.ItemID == "" {
				return false
			}
			last[e.ItemID] = state{gone: true}
		case EventMoved:
			if e.ItemID == "" || e.ChangeKey == "" || e.OldItemID == "" {
				return false
			}
			last[e.OldItemID] = state{gone: true}
			last[e.ItemID] = state{key: e.ChangeKey}
		default:
			return false
		}
	}
	for _, e := range freeBusy {
		if _, named := last[e.ItemID]; !named {
			last[e.ItemID] = state{key: e.ChangeKey}
		}
	}
	keys := make(map[string]string, len(occs))
	recurring := false
	for _, o := range occs {
		keys[o.ItemID] = o.ChangeKey
		recurring = recurring || o.Kind == calendar.KindOccurrence || o.Kind == calendar.KindException
	}
	for id, s := range last {
		k, stored := keys[id]
		switch {
		case s.gone && (stored || recurring):
			return false
		case !s.gone && (!stored || k != s.key):
			return false
		}
	}
	return true
}

// armReplay opens the replay window after a read or verification that a
// notification did not cause.
func (w *worker) armReplay(reason string) {
	if reason == "notification" {
		return
	}
	w.replayUntil = w.env.clk.Now().Add(replayWindow)
}

// changeEvents returns the events that are not status events (heartbeats).
func changeEvents(evs []Event) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind != EventStatus {
			out = append(out, e)
		}
	}
	return out
}

// skipReplayed ends a notification's read before it begins when the
// stored window already shows every change its events name. A read asked
// for by anything else (SyncNow, a roll, a recovery) is never skipped.
func (w *worker) skipReplayed() bool {
	if w.readReason != "notification" || w.readOwed || !w.loaded || w.hintAt.IsZero() || w.replayUntil.IsZero() {
		return false
	}
	if w.env.opts.Window.windowAt(w.env.clk.Now(), w.loc) != w.window {
		return false
	}
	w.mu.Lock()
	if len(w.replies) > 0 || w.pending&trigSync != 0 {
		w.mu.Unlock()
		return false
	}
	h := w.takeHintedLocked()
	w.mu.Unlock()
	if !w.replayCovered(h) {
		return false // the read that follows covers them
	}
	w.mu.Lock()
	if w.pending&trigHint == 0 {
		w.firstHint = time.Time{}
	}
	w.mu.Unlock()
	w.coalesceUntil, w.hintAt = time.Time{}, time.Time{}
	w.need &^= needRead
	w.readReason = ""
	w.env.metrics.replaysCovered.Inc()
	return true
}
