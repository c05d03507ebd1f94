package engine

import (
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// parkTimers returns each parked worker's park timer (nil if it has none).
func (h *harness) parkTimers() map[string]clock.Timer {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	out := map[string]clock.Timer{}
	for smtp, w := range h.e.workers {
		w.mu.Lock()
		if w.parked {
			out[smtp] = w.timer
		}
		w.mu.Unlock()
	}
	return out
}

// startReconcilingHourly starts pull-mode workers whose only timer within a
// day is the hourly reconciliation, on a fake clock.
func startReconcilingHourly(t *testing.T, fx *fakeExchange, mbx []string) (*harness, *clock.Fake) {
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	h := start(t, fx, memstore.New(), mbx, func(o *Options) {
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = -1
		o.ReconcileInterval = time.Hour
	})
	return h, clk
}

// A worker's park timer is made with the worker and armed again at every
// park (newParkTimer, why: docs/BENCHMARKS.md "issue 16, session 9"): it
// still wakes the worker at each next due time, and it is the same timer
// every time.
func TestAParkedWorkersTimerIsMadeOnceAndWakesItAtEveryPark(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(2)
	h, clk := startReconcilingHourly(t, fx, mbx)
	h.waitParked(len(mbx))
	first := h.parkTimers()
	for _, m := range mbx {
		if first[m] == nil {
			t.Fatalf("parked worker %s has no park timer", m)
		}
	}
	for round := 1; round <= 3; round++ {
		before := fx.count("CalendarView")
		// Up to 1.2 intervals: the reconciliation's jitter.
		clk.Advance(75 * time.Minute)
		testenv.WaitFor(t, "every mailbox reconciled again", func() bool { return fx.count("CalendarView") >= before+len(mbx) })
		h.waitParked(len(mbx))
		for m, tm := range h.parkTimers() {
			if tm != first[m] {
				t.Fatalf("round %d: %s parked with another timer than the one made at its start", round, m)
			}
		}
	}
}
