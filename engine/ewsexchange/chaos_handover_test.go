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

// TestTakenOverMailboxKeepsItsEventsWhenTheOldOwnerStreamsAgain is the
// cluster chaos test's lost item (user462, user121) step by step. Two
// engines share a store as cluster instances do. The old owner still syncs
// the mailbox — paused past its lease, it does not know yet that it lost
// it — when the new owner takes it over; then the old owner opens its
// streaming connection again with the subscription ids it has, and only
// then drops the mailbox. A subscription streams on one connection, the
// newest: had the new owner resumed the old owner's subscription, that
// reopening took it off the new owner's connection, which went on with
// its other mailbox without a word, and the item created afterwards was
// never read (before the fix this test waited out its limit). The new
// owner subscribes anew, so the old owner's ids are not its own.
func TestTakenOverMailboxKeepsItsEventsWhenTheOldOwnerStreamsAgain(t *testing.T) {
	x := newSim(t, 4, 1, func(o *ewsmem.Options) { o.StreamingHeartbeat = 300 * time.Millisecond })
	mbs := users(x)
	moved, oldOnly, joining, newOnly := mbs[0], mbs[1], mbs[2], mbs[3]
	st := memstore.New()
	ex := ewsexchange.NewInProcess(x, x.ServiceAccount(), "https://sim.example.com")
	cluster := func(o *engine.Options) { o.HandedOver = func(string) bool { return true } }
	// connection waits until e streams want subscriptions on one open
	// connection.
	connection := func(e *engine.Engine, who string, want int) {
		t.Helper()
		testenv.WaitFor(t, who+" streams its "+string(rune('0'+want))+" subscriptions on one open connection", func() bool {
			g := e.Groups()
			return len(g) == 1 && len(g[0].Connections) == 1 && g[0].Connections[0].State == "open" && g[0].Connections[0].Subscriptions == want
		})
	}

	old := startEngine(t, ex, st, engine.Streaming, []string{moved, oldOnly}, cluster)
	waitAllLive(t, old.e, 2, time.Minute)
	connection(old.e, "the old owner", 2)

	// The new owner takes the mailbox over, the old one still has it.
	taker := startEngine(t, ex, st, engine.Streaming, []string{moved, newOnly}, cluster)
	waitAllLive(t, taker.e, 2, time.Minute)
	connection(taker.e, "the new owner", 2)

	// The old owner opens its connection again with every id it has (here:
	// a regroup for a mailbox it gains), and then drops the one it lost.
	old.e.SetMailboxes([]string{moved, oldOnly, joining})
	waitAllLive(t, old.e, 3, time.Minute)
	connection(old.e, "the old owner", 3)
	old.e.SetMailboxes([]string{oldOnly, joining})
	connection(old.e, "the old owner", 2)
	testenv.WaitFor(t, "the simulator streams on two connections, one of each instance", func() bool {
		return x.Stats().StreamingConnections == 2
	})

	start := time.Now().UTC().Truncate(time.Hour).Add(3 * time.Hour)
	if _, err := x.AddCalendarItem(moved, ews.CalendarItem{Subject: "after the takeover", Start: start, End: start.Add(time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
		t.Fatalf("AddCalendarItem: %v", err)
	}
	waitConverged(t, x, st, []string{moved}, 30*time.Second)
}
