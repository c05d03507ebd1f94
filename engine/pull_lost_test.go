package engine

import (
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// queueEvents puts evs on the pull queues of smtp's subscriptions, as
// Exchange queues the events of changes (here: a replay of one that a
// read already saw).
func (f *fakeExchange) queueEvents(smtp string, evs ...Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, s := range f.subs {
		if s == smtp {
			f.queues[id] = append(f.queues[id], evs...)
		}
	}
}

// TestLostPullSubscriptionIsReadDespiteACoveredHint: a poll finds the pull
// subscription gone (a server restart) while the read of an earlier
// notification is due, whose events the stored window already shows. The
// mailbox changed after the subscription was lost and before the new one
// began: no event will ever name that change, so the read after
// resubscribing must happen — it must not be skipped as a replayed
// notification (worker_replay.go). The injected clock makes the
// notification's coalesced read fall due while the worker resubscribes
// (Autodiscover, Subscribe: a few seconds on a loaded machine).
func TestLostPullSubscriptionIsReadDespiteACoveredHint(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occKey("a1", "k1", "One", 1))
	// occ places items relative to the wall clock: start the clock there.
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Hour))
	st := memstore.New()
	h := start(t, fx, st, []string{alice}, func(o *Options) {
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 10 * time.Second
		o.CoalesceDelay = 15 * time.Second // due after the next poll
		o.DiscoverBatchDelay = -1
	})
	h.waitSubjects(alice, "One")
	h.waitState(alice, StateLive)
	polls := fx.countFor("GetEvents", alice)
	parked := func(polled int) bool { return fx.countFor("GetEvents", alice) == polled && clk.PendingTimers() == 1 }
	testenv.WaitFor(t, "the live worker parked until its first poll", func() bool { return parked(polls) })

	// The first poll takes a replay of the change the load read.
	fx.queueEvents(alice, Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k1"})
	clk.Advance(10 * time.Second)
	testenv.WaitFor(t, "the replay polled and its read coalescing", func() bool { return parked(polls + 1) })

	// The server restarts; the calendar changes before calsync
	// resubscribes, which takes long enough for the coalescing to end.
	fx.restart()
	fx.put(alice, occKey("a1", "k2", "Two", 1))
	fx.setFail(func(op, _ string) error {
		if op == "Subscribe" {
			clk.Advance(10 * time.Second)
		}
		return nil
	})
	clk.Advance(10 * time.Second)
	h.waitSubjects(alice, "Two")
}
