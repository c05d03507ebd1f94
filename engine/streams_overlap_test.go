package engine

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestReplacementOpensAfterTheReplacedConnectionsOpen: a connection that
// is replaced while its own GetStreamingEvents request is in flight (it
// reconnects after a cut, and a new member regroups the group meanwhile)
// must not have that request answered after its replacement's. A
// subscription streams on the connection that named it last; the late
// answer would take the shared subscriptions back, and the replaced
// connection's end would then leave them on no connection while the
// replacement streams on without their events.
func TestReplacementOpensAfterTheReplacedConnectionsOpen(t *testing.T) {
	const a, b, c = "a@example.org", "b@example.org", "c@example.org"
	fx := newFakeExchange()
	// The held request is not given up (CallTimeout) while it waits.
	h := start(t, fx, memstore.New(), []string{a, b}, func(o *Options) { o.CallTimeout = time.Minute })
	h.waitState(a, StateLive)
	h.waitState(b, StateLive)
	testenv.WaitFor(t, "a and b streamed on one connection", func() bool { return fx.streamWith(a, b) })

	// The connection's reconnect is held in flight.
	release := make(chan struct{})
	fx.mu.Lock()
	fx.openGate = func(ids []string) <-chan struct{} {
		if len(ids) == 2 {
			return release
		}
		return nil
	}
	opensBefore := len(fx.openIDs)
	fx.mu.Unlock()
	started := fx.count("OpenStream")
	for _, s := range fx.openStreams() {
		s.cut()
	}
	testenv.WaitFor(t, "the reconnect in flight", func() bool { return fx.count("OpenStream") > started })

	// A new member: the group's connection is replaced while that request
	// is in flight.
	h.e.SetMailboxes([]string{a, b, c})
	h.waitState(c, StateLive)
	testenv.WaitFor(t, "the replacement asked to open", func() bool {
		return fx.count("OpenStream") > started+1 || waitsForAnOpen(h.e.streams)
	})
	close(release)
	testenv.WaitFor(t, "both opens answered, a, b and c streamed on one connection", func() bool {
		fx.mu.Lock()
		n := len(fx.openIDs) - opensBefore
		fx.mu.Unlock()
		return n >= 2 && fx.streamWith(a, b, c)
	})

	fx.mu.Lock()
	opens := slices.Clone(fx.openIDs[opensBefore:])
	fx.mu.Unlock()
	last := -1
	for i, ids := range opens {
		if len(ids) == 3 {
			last = i
		}
	}
	for i, ids := range opens {
		if len(ids) == 2 && i > last {
			t.Fatalf("opens answered in the order %v: the replaced connection's open (a, b) was answered after its replacement's (a, b, c)", opens)
		}
	}
}

// waitsForAnOpen reports whether a connection waits in beginOpen for the
// open in flight of a connection it replaced.
func waitsForAnOpen(m *streamManager) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.groups {
		for _, c := range g.conns {
			if c.opening == nil && len(c.after) > 0 && c.after[0].opening != nil {
				return true
			}
		}
	}
	return false
}

// TestReplacementFailingBeforeAliveEndsTheReplacedConnection: a
// replacement connection that opens but fails before its first message
// (here its parser blows up) never hands the connection it replaces to
// retirePrev; that one must end then (its members re-read with the
// replacement's next open), not stream on unowned until the server ends it.
func TestReplacementFailingBeforeAliveEndsTheReplacedConnection(t *testing.T) {
	const alice, bob = "alice@example.org", "bob@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "A", 1))
	fx.put(bob, occ("b1", "B", 1))
	h := start(t, fx, memstore.New(), []string{alice}, nil)
	h.waitState(alice, StateLive)
	testenv.WaitFor(t, "a stream with alice", func() bool { return fx.streamWith(alice) })
	fx.mu.Lock()
	var old *fakeStream
	for s := range fx.streams {
		old = s
	}
	var once sync.Once
	fx.openGate = func(ids []string) <-chan struct{} {
		if len(ids) == 2 {
			once.Do(func() { fx.streamPanic.Store(true) })
		}
		return nil
	}
	fx.mu.Unlock()

	h.e.SetMailboxes([]string{alice, bob})
	h.waitState(bob, StateLive)
	testenv.WaitFor(t, "a stream with alice and bob", func() bool { return fx.streamWith(alice, bob) })
	testenv.WaitFor(t, "the replaced connection ended", func() bool {
		select {
		case <-old.closed:
			return true
		default:
			return false
		}
	})
}
