package engine

import (
	"slices"
	"testing"
	"time"

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

// TestReplacementPlannedBeforeItsPredecessorOpenedReadsNothingAgain: during
// a load a group's partial connection is filled up again and again. When a
// fill-up is planned before the previous one sent its request (it waits
// for the open in flight of the connection it replaces), the previous one
// never streams: the newest takes over what it was to replace. Before, the
// skipped connection's end cut the connection that streamed, and every
// member re-read its window as after a cut (the 50,000-mailbox load's
// extra FindItems).
func TestReplacementPlannedBeforeItsPredecessorOpenedReadsNothingAgain(t *testing.T) {
	const a, b, c, d = "a@example.org", "b@example.org", "c@example.org", "d@example.org"
	fx := newFakeExchange()
	// The first connection's open is held in flight (a slow server).
	release := make(chan struct{})
	fx.openGate = func(ids []string) <-chan struct{} {
		if len(ids) == 2 {
			return release
		}
		return nil
	}
	h := start(t, fx, memstore.New(), []string{a, b}, func(o *Options) { o.CallTimeout = time.Minute })
	h.waitState(a, StateLive)
	h.waitState(b, StateLive)
	testenv.WaitFor(t, "the open of a and b in flight", func() bool { return fx.count("OpenStream") == 1 })

	// c joins: its connection waits for that open; d joins before it sent
	// its own.
	h.e.SetMailboxes([]string{a, b, c})
	h.waitState(c, StateLive)
	testenv.WaitFor(t, "a connection planned for a, b and c", func() bool { return plannedWith(h.e.streams, 3) })
	h.e.SetMailboxes([]string{a, b, c, d})
	h.waitState(d, StateLive)
	testenv.WaitFor(t, "a connection planned for a, b, c and d", func() bool { return plannedWith(h.e.streams, 4) })
	close(release)

	testenv.WaitFor(t, "a, b, c and d streamed on one connection", func() bool { return fx.streamWith(a, b, c, d) })
	// The connection that was to stream a and b opened first: it was not
	// given up while its request was in flight.
	fx.mu.Lock()
	opens := slices.Clone(fx.openIDs)
	fx.mu.Unlock()
	if len(opens) != 2 || len(opens[0]) != 2 || len(opens[1]) != 4 {
		t.Fatalf("opens answered: %v, want a and b, then a, b, c and d", opens)
	}
	// The server closes a connection left without subscriptions.
	for _, s := range fx.openStreams() {
		if len(s.ids) < 4 {
			s.send(StreamMessage{Status: "Closed"})
		}
	}
	testenv.WaitFor(t, "only the new connection open, alive", func() bool {
		return len(fx.openStreams()) == 1 && aliveWith(h.e, 4)
	})
	h.waitParked(4)
	for _, s := range []string{a, b, c, d} {
		if n := fx.countFor("CalendarView", s); n != 1 {
			t.Errorf("%s read its window %d times, want once (its load): no connection it streamed on was cut", s, n)
		}
	}
}

// plannedWith reports whether some connection has n subscriptions.
func plannedWith(m *streamManager, n int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.groups {
		for _, c := range g.conns {
			if len(c.subs) == n {
				return true
			}
		}
	}
	return false
}

// aliveWith reports whether e has one connection, with n subscriptions,
// that delivered a message.
func aliveWith(e *Engine, n int) bool {
	var conns []ConnectionStatus
	for _, g := range e.Groups() {
		conns = append(conns, g.Connections...)
	}
	return len(conns) == 1 && conns[0].Subscriptions == n && !conns[0].LastMessage.IsZero()
}
