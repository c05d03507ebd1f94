package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// One polling round over 10,000 mailboxes, on the injected clock: every
// mailbox is asked for exactly once per interval, in ceil(10,000/limit)
// requests of at most the server's limit, and the next round starts one
// interval later — the interval is kept whatever the rate (200 requests
// a minute, 3.3/s, at a limit of 50; 100, 1.7/s, at 100). The requests go
// out in bursts every oofBurstEvery (5 s): the first burst carries the
// batches an even spread would send in the round's first 5 s.
func TestOOFPollRoundAt10000Mailboxes(t *testing.T) {
	for _, tc := range []struct {
		limit, requests, firstBurst int
		interval                    time.Duration
	}{
		{limit: 50, requests: 200, firstBurst: 17, interval: time.Minute}, // one every 300 ms
		{limit: 100, requests: 100, firstBurst: 9, interval: time.Minute}, // 600 ms
		{limit: 50, requests: 200, firstBurst: 10, interval: 100 * time.Second},
	} {
		t.Run(fmt.Sprintf("limit=%d,interval=%s", tc.limit, tc.interval), func(t *testing.T) {
			fx := &tipExchange{fakeExchange: newFakeExchange(), limit: tc.limit, tips: map[string]string{}}
			clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			const n = 10000
			runPoller(t, fx, clk, n, tc.interval)

			requests := func() int { n, _ := fx.counts(); return n }
			parked := func(want int) bool { return requests() == want && clk.PendingTimers() == 1 }
			testenv.WaitFor(t, "round 1's first burst", func() bool { return parked(tc.firstBurst) })
			for round := 1; round <= 2; round++ {
				// Up to the last instant of the round: all of its requests
				// and none of the next round's.
				clk.Advance(tc.interval - time.Nanosecond)
				testenv.WaitFor(t, fmt.Sprintf("round %d's %d requests", round, tc.requests), func() bool { return parked(round * tc.requests) })
				clk.Advance(time.Nanosecond)
				testenv.WaitFor(t, "the next round's first burst", func() bool { return parked(round*tc.requests + tc.firstBurst) })
			}
			if _, largest := fx.counts(); largest != tc.limit {
				t.Errorf("largest request carried %d mailboxes, want the server's limit %d", largest, tc.limit)
			}
			r := PlanOOFRound(n, tc.limit, tc.interval)
			if r.Requests != tc.requests {
				t.Errorf("PlanOOFRound(%d, %d).Requests = %d, want %d", n, tc.limit, r.Requests, tc.requests)
			}
		})
	}
}

// A server that refuses a request's size (its limit went down) is asked
// for its limit again, and the next round never sends that many.
func TestOOFPollShrinksWhenTheServerRefusesTheSize(t *testing.T) {
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 10, tips: map[string]string{}, refuseAbove: 4}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	runPoller(t, fx, clk, 20, time.Minute)
	parked := func(want int) bool { n, _ := fx.counts(); return n == want && clk.PendingTimers() == 1 }
	testenv.WaitFor(t, "round 1's first request", func() bool { return parked(1) })
	clk.Advance(time.Minute - time.Nanosecond) // round 1: 2 refused requests of 10
	testenv.WaitFor(t, "round 1", func() bool { return parked(2) })
	clk.Advance(time.Nanosecond)
	testenv.WaitFor(t, "round 2's first request", func() bool { return parked(3) })
	clk.Advance(time.Minute) // round 2 (the server's new limit: 5 requests of 4) and round 3's first
	testenv.WaitFor(t, "round 2: 5 requests of 4", func() bool { return parked(2 + 5 + 1) })
	if got := fx.lastSize(); got != 4 {
		t.Errorf("requests after the refusal carry %d mailboxes, want the server's new limit 4", got)
	}
}

// runPoller runs the tip poller alone (no workers run) over n mailboxes
// until the test ends.
func runPoller(t *testing.T, fx interface {
	Exchange
	OOFTipReader
}, clk *clock.Fake, n int, interval time.Duration) *Engine {
	t.Helper()
	e, err := New(Options{Store: memstore.New(), Exchange: fx, Clock: clk, OOFPollInterval: interval,
		Budget: BudgetConfig{RequestsPerSecond: -1}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		e.workers[fmt.Sprintf("user%05d@example.org", i)] = &worker{wake: make(chan struct{}, 1)}
	}
	p := newOOFPoller(e)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}
