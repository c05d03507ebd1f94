package ewsexchange_test

import (
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/store/memstore"
)

// Exchange follows every item event with a folder-level ModifiedEvent
// (FolderId, ParentFolderId, UnreadCount; no item id), and the simulator
// does too. calsync must take the whole burst as one hint: a change costs
// one calendar read, not one per event, and the folder event is never
// looked up as an item.
func TestFolderModifiedEventsCostNoExtraReads(t *testing.T) {
	for _, mode := range []engine.Mode{engine.Streaming, engine.Pull} {
		t.Run(string(mode), func(t *testing.T) {
			x := newSim(t, 1, 1, func(o *ewsmem.Options) { o.NoDuplicates = true })
			mbs := users(x)
			st := memstore.New()
			r := startEngine(t, ewsexchange.NewInProcess(x, x.ServiceAccount(), "https://sim.example.com"), st, mode, mbs, nil)
			waitAllLive(t, r.e, len(mbs), 20*time.Second)
			waitConverged(t, x, st, mbs, 10*time.Second)
			quiesce(t, x)
			before := x.Stats().Requests
			now := time.Now().UTC().Truncate(time.Hour)
			if _, err := x.AddCalendarItem(mbs[0], ews.CalendarItem{Subject: "burst", Start: now.Add(2 * time.Hour), End: now.Add(3 * time.Hour),
				LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
				t.Fatal(err)
			}
			waitConverged(t, x, st, mbs, 10*time.Second)
			quiesce(t, x)
			after := x.Stats().Requests
			if d := after["FindItem"] - before["FindItem"]; d != 1 {
				t.Errorf("one change (item event + folder ModifiedEvent + FreeBusyChangedEvent) cost %d CalendarView reads, want 1", d)
			}
			for _, op := range []string{"GetItem", "SyncFolderItems", "Subscribe"} {
				if d := after[op] - before[op]; d != 0 {
					t.Errorf("one change cost %d %s calls, want 0 (requests before %v, after %v)", d, op, before, after)
				}
			}
		})
	}
}
