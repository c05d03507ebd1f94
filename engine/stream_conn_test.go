package engine

import (
	"slices"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestReplacedConnectionThatStaysOpenIsCutAndItsMembersReRead: make before
// break relies on the server closing a connection whose subscriptions a
// new one took. The fake Exchange does not: the old connection streams on
// after its replacement is alive, is cut after retireTimeout, and the
// members it carried re-read their windows, as after any cut — events in
// flight on it may have been lost. The new member read once, at its load.
func TestReplacedConnectionThatStaysOpenIsCutAndItsMembersReRead(t *testing.T) {
	fx := newFakeExchange()
	names := []string{"a@example.org", "b@example.org", "c@example.org"}
	h := start(t, fx, memstore.New(), names[:2], nil)
	for _, n := range names[:2] {
		h.waitState(n, StateLive)
	}
	testenv.WaitFor(t, "a stream with the first two subscriptions", func() bool {
		return slices.ContainsFunc(fx.openStreams(), func(s *fakeStream) bool { return len(s.ids) == 2 })
	})
	old := fx.openStreams()[0]
	readsBefore := fx.countFor("CalendarView", names[0]) + fx.countFor("CalendarView", names[1])
	h.e.SetMailboxes(names)
	h.waitState(names[2], StateLive)
	testenv.WaitFor(t, "the replacement with all three subscriptions open", func() bool {
		return slices.ContainsFunc(fx.openStreams(), func(s *fakeStream) bool { return len(s.ids) == 3 })
	})
	testenv.WaitFor(t, "the replaced connection cut", func() bool { return !slices.Contains(fx.openStreams(), old) })
	testenv.WaitFor(t, "the carried members re-read", func() bool {
		return fx.countFor("CalendarView", names[0])+fx.countFor("CalendarView", names[1]) >= readsBefore+2
	})
	if n := fx.countFor("CalendarView", names[2]); n != 1 {
		t.Errorf("the new member read %d times, want once (its load)", n)
	}
}
