package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

// TestPullPollsWaitForAnAdmissionSlot: a pull poll sends a request like any
// step, so it runs with a slot of the gate (admit.go). Outside the gate,
// every live worker whose poll is due would run on a goroutine of its own
// and wait in the budget's queue — the memory the gate exists to save.
func TestPullPollsWaitForAnAdmissionSlot(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(3)
	for _, m := range mbx {
		fx.put(m, occ("a-"+m, "A", 1))
	}
	var hold atomic.Bool
	release := make(chan struct{})
	fx.setFail(func(op, smtp string) error {
		if op == "CalendarView" && smtp == mbx[0] && hold.Load() {
			<-release
		}
		return nil
	})
	// occ places items relative to the wall clock: start the clock there.
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Hour))
	h := startGated(t, fx, mbx, 1, 1, func(o *Options) {
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 10 * time.Second
		o.DiscoverBatchDelay = -1
	})
	// Registered after startGated's: the held read ends before the stop.
	t.Cleanup(func() {
		if hold.Load() {
			close(release)
		}
	})
	for _, m := range mbx {
		h.waitState(m, StateLive)
	}
	h.waitParked(len(mbx))
	polls := func() int { return fx.countFor("GetEvents", mbx[1]) + fx.countFor("GetEvents", mbx[2]) }
	before := polls()

	// mbx[0]'s manual sync holds the one slot in its read.
	hold.Store(true)
	synced := make(chan error, 1)
	go func() { synced <- h.e.SyncNow(context.Background(), mbx[0]) }()
	testenv.WaitFor(t, "the manual sync's read holding the slot", func() bool {
		return fx.countFor("CalendarView", mbx[0]) == 2
	})
	clk.Advance(10 * time.Second)
	testenv.WaitFor(t, "the due polls queued at the gate or sent", func() bool {
		return h.e.admit.waiting() == 2 || polls() > before
	})
	if got := polls(); got != before {
		t.Fatalf("GetEvents of the other mailboxes while the one slot is held = %d, want 0 (polls bypass the gate)", got-before)
	}
	hold.Store(false)
	close(release)
	if err := <-synced; err != nil {
		t.Fatalf("SyncNow = %v", err)
	}
	testenv.WaitFor(t, "both due polls sent once the slot is free", func() bool {
		return fx.countFor("GetEvents", mbx[1]) > 0 && fx.countFor("GetEvents", mbx[2]) > 0 && polls() >= before+2
	})
}
