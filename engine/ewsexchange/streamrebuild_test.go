package ewsexchange_test

import (
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestHTTPRebuiltConnectionReadsOnlyItsNewMembers: a streaming connection
// rebuilt with new members (a takeover in a cluster, mailboxes added) is
// made before the old one is broken. The simulator moves each subscription
// to the connection that names it last and ends the old connection
// (ConnectionStatus Closed) once it carries none, so the engine has read
// everything the old one delivered: the members it carried do not read
// their calendars again; only the new members load. Counted per operation
// at the simulator, over HTTP.
func TestHTTPRebuiltConnectionReadsOnlyItsNewMembers(t *testing.T) {
	sim, ex := newHTTPSim(t, 20, 1) // one server: one affinity group
	mbs := users(sim)
	first, added := mbs[:len(mbs)/2], mbs[len(mbs)/2:]
	st := memstore.New()
	r := startEngine(t, ex, st, engine.Streaming, first, nil)
	waitAllLive(t, r.e, len(first), 30*time.Second)
	waitStreamed(t, r.e, len(first))
	quiesce(t, sim)
	before := sim.Stats().Requests

	r.e.SetMailboxes(mbs)
	waitAllLive(t, r.e, len(mbs), 30*time.Second)
	waitStreamed(t, r.e, len(mbs))
	quiesce(t, sim)
	after := sim.Stats().Requests
	got := func(op string) int64 { return after[op] - before[op] }
	if n := got("GetStreamingEvents"); n < 1 {
		t.Fatalf("%d GetStreamingEvents after adding members, want the connection rebuilt", n)
	}
	if n := got("FindItem"); n != int64(len(added)) {
		t.Errorf("%d CalendarView (FindItem) after the rebuild, want %d: one per new member, none for the %d carried ones", n, len(added), len(first))
	}

	// The rebuilt connection carries the old members' events.
	now := time.Now().UTC().Truncate(time.Hour)
	if _, err := sim.AddCalendarItem(first[0], ews.CalendarItem{Subject: "after the rebuild", Start: now.Add(2 * time.Hour), End: now.Add(3 * time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
		t.Fatalf("AddCalendarItem: %v", err)
	}
	waitConverged(t, sim, st, mbs, 10*time.Second)
}

// waitStreamed waits until n subscriptions are on open connections.
func waitStreamed(t *testing.T, e *engine.Engine, n int) {
	t.Helper()
	testenv.WaitFor(t, "every subscription on an open connection", func() bool {
		open := 0
		for _, g := range e.Groups() {
			for _, c := range g.Connections {
				if c.State == "open" {
					open += c.Subscriptions
				}
			}
		}
		return open == n
	})
}
