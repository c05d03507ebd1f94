package engine

// Applying a sync-state check's changes: when a check (restart, takeover,
// recovery, reconciliation) finds that only single items changed, the
// answer already holds their current versions (SyncFolderItems returns the
// same properties a CalendarView does). The stored window with those items
// replaced, added or removed is then Exchange's window, and reading it
// again would cost a request per changed mailbox. Exact only where no
// recurring series is involved:
//
//   - a recurring master created or changed (an occurrence moved, the
//     series extended) must be expanded by a CalendarView: the check is
//     not Complete and the window is read;
//   - an updated or deleted item the stored window does not hold as a
//     single item may have been a recurring master whose occurrences
//     (which have ids of their own) are stored: read, unless the stored
//     window holds no occurrence of any series.
//
// A created item cannot have been anything before, so it is always applied.
// The state the check returned was taken with the versions it returned, so
// it is committed with the patched window as after a read.

import (
	"context"

	"github.com/calsync/calsync/calendar"
)

// patchWindow returns the stored window of win with changes applied;
// ok=false when that is not exact (the caller reads the window).
func (w *worker) patchWindow(changes *CalendarChanges, win calendar.Window) (occs []calendar.Occurrence, ok bool) {
	if changes == nil || !changes.Complete || win != w.window || !w.haveStored() {
		return nil, false
	}
	var stored []calendar.Occurrence
	err := w.env.deep.run(func() error {
		ctx, cancel := context.WithTimeout(w.ctx, storeTimeout)
		defer cancel()
		var err error
		stored, err = w.env.st.Occurrences(ctx, w.smtp, win.Start, win.End)
		return err
	})
	if err != nil {
		return nil, false
	}
	return applyChanges(stored, changes, win)
}

// haveStored reports whether the worker's window was committed (a read
// or a restored checkpoint), so that the stored occurrences are it.
func (w *worker) haveStored() bool { return !w.window.IsZero() }

// applyChanges is patchWindow without the store.
func applyChanges(stored []calendar.Occurrence, changes *CalendarChanges, win calendar.Window) ([]calendar.Occurrence, bool) {
	singles := make(map[string]bool, len(stored))
	recurring := false
	for _, o := range stored {
		if o.Kind == calendar.KindSingle {
			singles[o.ItemID] = true
		} else {
			recurring = true
		}
	}
	// was reports whether an item changed in place can be applied: it was
	// a stored single item, or no series is stored that it could have
	// been the master of.
	was := func(id string) bool { return singles[id] || !recurring }
	drop := make(map[string]bool, len(changes.Items)+len(changes.Deleted))
	for _, id := range changes.Deleted {
		if !was(id) {
			return nil, false
		}
		drop[id] = true
	}
	var add []calendar.Occurrence
	for _, it := range changes.Items {
		o := it.Occurrence
		if o.Kind != calendar.KindSingle || (!it.Created && !was(o.ItemID)) {
			return nil, false
		}
		drop[o.ItemID] = true
		if (calendar.Occurrence{Start: it.Start, End: it.End}).Overlaps(win.Start, win.End) {
			add = append(add, o)
		}
	}
	out := make([]calendar.Occurrence, 0, len(stored)+len(add))
	for _, o := range stored {
		if !drop[o.ItemID] {
			out = append(out, o)
		}
	}
	return append(out, add...), true
}
