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

// coveredReplay is a pull worker of alice, loaded with a1 at k1 ("One"),
// whose last poll took a replay of that change: the notification's read,
// which the replay check will skip (worker_replay.go), coalesces until 5 s
// after the next poll is due. The clock is injected and moves only when
// the test advances it.
type coveredReplay struct {
	fx    *fakeExchange
	clk   *clock.Fake
	h     *harness
	polls int // GetEvents of alice so far
}

const coveredMbx = "alice@example.org"

func startCoveredReplay(t *testing.T) *coveredReplay {
	t.Helper()
	fx := newFakeExchange()
	fx.put(coveredMbx, occKey("a1", "k1", "One", 1))
	// occ places items relative to the wall clock: start the clock there.
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Hour))
	h := start(t, fx, memstore.New(), []string{coveredMbx}, func(o *Options) {
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 10 * time.Second
		o.CoalesceDelay = 15 * time.Second // due after the next poll
		o.DiscoverBatchDelay = -1
	})
	h.waitSubjects(coveredMbx, "One")
	h.waitState(coveredMbx, StateLive)
	r := &coveredReplay{fx: fx, clk: clk, h: h, polls: fx.countFor("GetEvents", coveredMbx)}
	r.waitParked(t, "the live worker parked until its first poll", 0)
	fx.queueEvents(coveredMbx, Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k1"})
	clk.Advance(10 * time.Second)
	r.waitParked(t, "the replay polled and its read coalescing", 1)
	return r
}

// waitParked waits until the worker made more GetEvents since the start
// and waits on its one timer.
func (r *coveredReplay) waitParked(t *testing.T, what string, more int) {
	t.Helper()
	testenv.WaitFor(t, what, func() bool {
		return r.fx.countFor("GetEvents", coveredMbx) == r.polls+more && r.clk.PendingTimers() == 1
	})
}

// TestLostPullSubscriptionIsReadDespiteACoveredHint: a poll finds the pull
// subscription gone (a server restart) while the read of an earlier
// notification is coalescing, whose events the stored window already
// shows. The mailbox changed after the subscription was lost and before
// the new one began: no event will ever name that change, so the read
// after resubscribing must happen — it must not be skipped as a replayed
// notification (worker_replay.go). The injected clock makes the
// notification's coalesced read fall due while the worker resubscribes
// (Autodiscover, Subscribe: a few seconds on a loaded machine).
func TestLostPullSubscriptionIsReadDespiteACoveredHint(t *testing.T) {
	r := startCoveredReplay(t)
	r.fx.restart()
	r.fx.put(coveredMbx, occKey("a1", "k2", "Two", 1))
	r.fx.setFail(func(op, _ string) error {
		if op == "Subscribe" {
			r.clk.Advance(10 * time.Second)
		}
		return nil
	})
	r.clk.Advance(10 * time.Second)
	r.h.waitSubjects(coveredMbx, "Two")
}

// TestPollFailingAfterEventsReadsThem: a poll whose first answer took
// events off the queue (more to come) and whose next GetEvents failed
// (ErrorServerBusy) must read those events' changes even when the read of
// an earlier notification, covered by the stored window, is due by then:
// the failed poll's events join that notification's, so the replay check
// (worker_replay.go) sees them too.
func TestPollFailingAfterEventsReadsThem(t *testing.T) {
	r := startCoveredReplay(t)
	r.fx.put(coveredMbx, occKey("a1", "k2", "Two", 1))
	r.fx.mu.Lock()
	r.fx.more = true
	r.fx.mu.Unlock()
	gets := 0
	r.fx.setFail(func(op, _ string) error {
		if op != "GetEvents" {
			return nil
		}
		if gets++; gets == 2 {
			return &ExchangeError{Code: "ErrorServerBusy"}
		}
		return nil
	})
	r.clk.Advance(10 * time.Second)
	r.waitParked(t, "the failed poll backing off", 3)
	r.clk.Advance(10 * time.Second)
	r.h.waitSubjects(coveredMbx, "Two")
}
