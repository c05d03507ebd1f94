package ewsexchange_test

import (
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/store/memstore"
)

// TestHTTPRestartTrustsSyncStates is the restart over the wire: after the
// reconciliation stored every mailbox's SyncFolderItems state, calsync
// stops, one mailbox changes, and the restarted engine asks each stored
// state once and reads only the changed mailbox's window; every mailbox
// then equals the simulator's truth.
func TestHTTPRestartTrustsSyncStates(t *testing.T) {
	sim, ex := newHTTPSim(t, 8, 2)
	mbs := users(sim)
	st := memstore.New()
	r := startEngine(t, ex, st, engine.Streaming, mbs, func(o *engine.Options) { o.ReconcileInterval = 300 * time.Millisecond })
	waitAllLive(t, r.e, len(mbs), 30*time.Second)
	waitSyncStates(t, st, mbs)
	r.stop()
	quiesce(t, sim)

	now := time.Now().UTC().Truncate(time.Hour)
	if _, err := sim.AddCalendarItem(mbs[0], ews.CalendarItem{Subject: "added while calsync was down", Start: now.Add(3 * time.Hour), End: now.Add(4 * time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
		t.Fatalf("AddCalendarItem: %v", err)
	}
	before := sim.Stats().Requests
	r2 := startEngine(t, ex, st, engine.Streaming, mbs, nil)
	waitAllLive(t, r2.e, len(mbs), 30*time.Second)
	waitConverged(t, sim, st, mbs, 10*time.Second)
	quiesce(t, sim)
	after := sim.Stats().Requests
	if got := after["SyncFolderItems"] - before["SyncFolderItems"]; got != int64(len(mbs)) {
		t.Errorf("restart: %d SyncFolderItems, want one per mailbox (%d)", got, len(mbs))
	}
	// The changed mailbox's check answered with the added single item:
	// no window is read (syncpatch.go).
	if got := after["FindItem"] - before["FindItem"]; got != 0 {
		t.Errorf("restart: %d CalendarView (FindItem), want 0 (the check's answer holds the added item)", got)
	}
	if got := after["Subscribe"] - before["Subscribe"]; got != 0 {
		t.Errorf("restart: %d Subscribe, want 0 (stored subscriptions reused)", got)
	}
}
