package ewsexchange_test

import (
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestRenewedConnectionReadsNothing: a streaming connection due for
// renewal (StreamRenewBefore ahead of its timeout) is replaced make before
// break, like a rebuilt one: the new connection opens while the old one
// streams on, the simulator moves the subscriptions to it and ends the old
// one (ConnectionStatus Closed) with everything delivered, so no member
// reads its calendar again. Before, the old connection was closed first
// and every member re-read (a CalendarView or a sync-state check each) at
// every renewal. Here the connections renew every 2 s.
func TestRenewedConnectionReadsNothing(t *testing.T) {
	x := newSim(t, 6, 1, func(o *ewsmem.Options) { o.StreamingHeartbeat = 300 * time.Millisecond })
	mbs := users(x)
	st := memstore.New()
	ex := ewsexchange.NewInProcess(x, x.ServiceAccount(), "https://sim.example.com")
	renewFast := func(o *engine.Options) { o.StreamTimeout, o.StreamRenewBefore = time.Minute, 58*time.Second }
	r := startEngine(t, ex, st, engine.Streaming, mbs, renewFast)
	waitAllLive(t, r.e, len(mbs), 30*time.Second)
	waitStreamed(t, r.e, len(mbs))
	quiesce(t, x)
	reads := func() int64 {
		s := x.Stats().Requests
		return s["FindItem"] + s["SyncFolderItems"] + s["GetItem"]
	}
	before, opens := reads(), x.Stats().Requests["GetStreamingEvents"]
	testenv.WaitFor(t, "three renewals", func() bool {
		return x.Stats().Requests["GetStreamingEvents"] >= opens+3
	})
	waitStreamed(t, r.e, len(mbs))
	if n := reads() - before; n != 0 {
		t.Errorf("%d reads (FindItem, SyncFolderItems, GetItem) over three renewals, want 0: the replaced connection ended with everything delivered", n)
	}

	// The renewed connection carries the members' events.
	now := time.Now().UTC().Truncate(time.Hour)
	if _, err := x.AddCalendarItem(mbs[0], ews.CalendarItem{Subject: "after the renewals", Start: now.Add(2 * time.Hour), End: now.Add(3 * time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
		t.Fatalf("AddCalendarItem: %v", err)
	}
	waitConverged(t, x, st, mbs, 10*time.Second)
}
