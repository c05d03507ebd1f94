package engine

// Synchronization states: a cheap answer to "did the calendar change since
// the window was read?". A worker keeps the state Exchange returned for its
// calendar folder (EWS SyncFolderItems) in the checkpoint. The state is
// always taken *before* the CalendarView it is committed with, so every
// change after it is either in that view or reported by the next check:
// a check that reports nothing proves the stored window is still Exchange's
// truth (as long as the window did not roll). Restarts, stream recoveries
// and reconciliations then cost one small request per quiet mailbox
// instead of a whole window.

import (
	"context"
	"time"

	"github.com/calsync/calsync/calendar"
)

// CalendarSyncer is implemented by an Exchange that can tell whether a
// mailbox's calendar folder changed since a synchronization state
// (engine/ewsexchange: SyncFolderItems, ids only). It is optional: without
// it every verification re-reads the window.
type CalendarSyncer interface {
	// CalendarSyncState returns the folder's current state and whether
	// any item of the folder was created, changed or deleted since state.
	// state "" asks for a first state (changed is then true). next "" with
	// a nil error means the folder cannot be tracked (too many items to
	// page through): the caller reads the window instead.
	CalendarSyncState(ctx context.Context, t Target, state string) (next string, changed bool, err error)
}

// Results of a state check (metric label).
const (
	syncUnchanged = "unchanged" // nothing changed: no window read
	syncChanged   = "changed"   // the window is read
	syncFirst     = "first"     // a first state was taken (window read)
	syncInvalid   = "invalid"   // Exchange rejected the stored state; a first one was taken
)

// checkSyncState asks Exchange whether the calendar changed since the
// worker's state. ok=false: the Exchange cannot say (no CalendarSyncer,
// an untrackable folder); the caller reads the window. next is the state
// to commit with a window read that starts after this call. changes is
// what changed, when the Exchange says (CalendarChangeReader; nil
// otherwise).
func (w *worker) checkSyncState() (next string, changed, ok bool, changes *CalendarChanges, err error) {
	cs, can := w.env.ex.(CalendarSyncer)
	if !can {
		return "", true, false, nil, nil
	}
	cr, lists := w.env.ex.(CalendarChangeReader)
	state := w.syncState
	result := syncChanged
	for {
		err = w.call(w.ctx, func(ctx context.Context) error {
			if lists && state != "" {
				c, err := cr.CalendarChanges(ctx, w.target(), state)
				next, changed, changes = c.Next, c.Changed, &c
				return err
			}
			var err error
			next, changed, err = cs.CalendarSyncState(ctx, w.target(), state)
			return err
		})
		if err != nil && state != "" && ErrorCode(err) == "ErrorInvalidSyncStateData" {
			// A state Exchange no longer knows (another database after a
			// move, a reset): take a first one instead.
			w.env.log.Info("stored calendar sync state rejected; taking a new one", "smtp", w.smtp)
			state, result = "", syncInvalid
			w.syncState = ""
			changes = nil
			continue
		}
		break
	}
	if err != nil {
		return "", true, false, nil, err
	}
	switch {
	case state == "" && result != syncInvalid:
		result = syncFirst
	case !changed:
		result = syncUnchanged
	}
	w.env.metrics.syncChecks.WithLabelValues(result).Inc()
	if next == "" {
		// Too many items to page through: this worker reads windows, as
		// without sync states, and stops asking.
		w.untracked = true
		w.env.log.Info("calendar too large to track with a sync state; reading windows instead", "smtp", w.smtp)
		return "", true, false, nil, nil
	}
	return next, changed || state == "", true, changes, nil
}

// CalendarChangeReader is a CalendarSyncer that also says what changed,
// so that a check finding only single items changed can apply them to the
// stored window instead of reading it (syncpatch.go). Optional.
type CalendarChangeReader interface {
	CalendarSyncer
	// CalendarChanges is CalendarSyncState from a stored state (never "")
	// that also returns the changes.
	CalendarChanges(ctx context.Context, t Target, state string) (CalendarChanges, error)
}

// CalendarChanges is what a sync-state check found.
type CalendarChanges struct {
	// Next and Changed are CalendarSyncState's answers.
	Next    string
	Changed bool
	// Complete says Items and Deleted are every change since the state;
	// false when some change cannot be applied from the answer (a
	// recurring master, an item that is not a calendar item, more changes
	// than one page): the window is then read.
	Complete bool
	// Items are the current versions of the single (non-recurring) items
	// created or updated since the state.
	Items []ChangedItem
	// Deleted are the ids of the items deleted since the state.
	Deleted []string
}

// ChangedItem is a single calendar item a sync-state check returned.
type ChangedItem struct {
	Occurrence calendar.Occurrence
	// Start and End are the item's times as Exchange keeps them (before
	// an all-day event is snapped to its zone's midnights): a
	// CalendarView includes the item by these.
	Start, End time.Time
	// Created: new since the state (it cannot have been anything else
	// before, e.g. a recurring master).
	Created bool
}
