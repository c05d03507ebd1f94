package ewsexchange_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// TestHTTPResumeReadsEachChangeOnce is a restart — or a takeover in a
// cluster: to the engine the same resume from a stored checkpoint — over
// the wire, counted per operation at the simulator. Two mailboxes change
// while nobody syncs them (an item added, an item moved); their
// subscriptions queue the events and replay them when the new engine's
// stream opens. The replayed events name changes the resume already saw
// and cost nothing. No automatic-reply settings
// are read (the mail tips are polled) and no mailbox subscribes again.
// With stored sync states (reconciled before) every mailbox costs one
// SyncFolderItems, whose answer also holds the changed single items (no
// CalendarView); without (a takeover within the first hour after a cold
// start) one CalendarView each.
func TestHTTPResumeReadsEachChangeOnce(t *testing.T) {
	for _, reconciled := range []bool{true, false} {
		t.Run(fmt.Sprintf("reconciled %v", reconciled), func(t *testing.T) {
			sim, ex := newHTTPSim(t, 8, 2)
			mbs := users(sim)
			st := memstore.New()
			r := startEngine(t, ex, st, engine.Streaming, mbs, func(o *engine.Options) {
				if reconciled {
					o.ReconcileInterval = 300 * time.Millisecond
				}
			})
			waitAllLive(t, r.e, len(mbs), 30*time.Second)
			if reconciled {
				waitSyncStates(t, st, mbs)
			}
			r.stop()
			quiesce(t, sim)

			now := time.Now().UTC().Truncate(time.Hour)
			if _, err := sim.AddCalendarItem(mbs[0], ews.CalendarItem{Subject: "added while nobody synced", Start: now.Add(3 * time.Hour), End: now.Add(4 * time.Hour), LegacyFreeBusyStatus: ews.FreeBusyOOF}); err != nil {
				t.Fatalf("AddCalendarItem: %v", err)
			}
			id, err := sim.AddCalendarItem(mbs[1], ews.CalendarItem{Subject: "to be moved", Start: now.Add(5 * time.Hour), End: now.Add(6 * time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy})
			if err != nil {
				t.Fatalf("AddCalendarItem: %v", err)
			}
			start, end := now.Add(7*time.Hour), now.Add(8*time.Hour)
			if _, err := sim.UpdateCalendarItem(mbs[1], ews.ItemByID(id), ewsmem.ItemChange{Start: &start, End: &end}); err != nil {
				t.Fatalf("UpdateCalendarItem: %v", err)
			}
			before := sim.Stats().Requests
			resumed := time.Now()
			r2 := startEngine(t, ex, st, engine.Streaming, mbs, nil)
			waitAllLive(t, r2.e, len(mbs), 30*time.Second)
			waitConverged(t, sim, st, mbs[:2], 10*time.Second)
			for _, m := range mbs[:2] {
				testenv.WaitFor(t, m+"'s queued events replayed", func() bool {
					s, err := r2.e.Status(m)
					return err == nil && s.LastEvent.After(resumed)
				})
			}
			quiesce(t, sim)
			waitConverged(t, sim, st, mbs, 10*time.Second)
			after := sim.Stats().Requests
			got := func(op string) int64 { return after[op] - before[op] }
			// Reconciled: the check's answer holds the changed single
			// items, so no mailbox needs a CalendarView; otherwise each
			// is read once.
			wantViews, wantChecks := int64(len(mbs)), int64(0)
			if reconciled {
				wantViews, wantChecks = 0, int64(len(mbs))
			}
			if n := got("FindItem"); n != wantViews {
				t.Errorf("resume: %d CalendarView (FindItem), want %d (replayed events need no read)", n, wantViews)
			}
			if n := got("SyncFolderItems"); n != wantChecks {
				t.Errorf("resume: %d SyncFolderItems, want %d", n, wantChecks)
			}
			for _, op := range []string{"GetUserOofSettings", "Subscribe", "GetUserConfiguration"} {
				if n := got(op); n != 0 {
					t.Errorf("resume: %d %s, want 0", n, op)
				}
			}
		})
	}
}

// waitSyncStates waits until every mailbox's checkpoint holds a sync state.
func waitSyncStates(t *testing.T, st store.Store, mbs []string) {
	t.Helper()
	testenv.WaitFor(t, "every mailbox's sync state stored", func() bool {
		for _, m := range mbs {
			rec, err := st.Mailbox(context.Background(), m)
			if err != nil || rec.Checkpoint.SyncState == "" {
				return false
			}
		}
		return true
	})
}
