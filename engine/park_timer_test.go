package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// dueTimes returns each parked worker's due time in the park timers'
// heap (a parked worker without one is left out).
func (h *harness) dueTimes() map[string]time.Time {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	p := h.e.env.parks
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]time.Time{}
	for smtp, w := range h.e.workers {
		w.mu.Lock()
		if w.parked && w.parkIdx >= 0 {
			out[smtp] = w.parkAt
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

// Parked workers share one clock timer (parktimers.go, why: docs/
// BENCHMARKS.md "Partly used spans after the load (session 10)"), and each
// still wakes exactly at its own due time: the clock is moved to the
// earliest due time only, that worker reconciles, and the others stay
// parked with their due times.
func TestParkedWorkersShareOneTimerAndEachWakesAtItsDueTime(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(3)
	h, clk := startReconcilingHourly(t, fx, mbx)
	h.waitParked(len(mbx))
	testenv.WaitFor(t, "every parked worker waiting for its reconciliation", func() bool { return len(h.dueTimes()) == len(mbx) })
	for round := 1; round <= 5; round++ {
		if n := clk.PendingTimers(); n != 1 {
			t.Fatalf("round %d: %d clock timers pending for %d parked workers, want 1", round, n, len(mbx))
		}
		due := h.dueTimes()
		first := ""
		for m, at := range due {
			if first == "" || at.Before(due[first]) {
				first = m
			}
		}
		reads := fx.countFor("CalendarView", first)
		clk.Set(due[first])
		testenv.WaitFor(t, fmt.Sprintf("round %d: %s reconciled at its due time", round, first), func() bool {
			return fx.countFor("CalendarView", first) == reads+1
		})
		h.waitParked(len(mbx))
		testenv.WaitFor(t, "the reconciled worker waiting again", func() bool { return len(h.dueTimes()) == len(mbx) })
		after := h.dueTimes()
		if !after[first].After(due[first]) {
			t.Fatalf("round %d: %s parked again with due time %v, not after %v", round, first, after[first], due[first])
		}
		for m, at := range due {
			if m != first && !after[m].Equal(at) {
				t.Fatalf("round %d: %s woke before its due time %v (now due %v)", round, m, at, after[m])
			}
		}
	}
}

// The heap wakes every worker whose due time came, in any order of arms,
// re-arms and stops, and no other; the clock timer stays armed only while
// a worker waits.
func TestParkTimersWakeExactlyTheDueWorkers(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	p := newParkTimers(clk)
	env := &workerEnv{clk: clk, parks: p}
	rnd := rand.New(rand.NewPCG(1, 2))
	ws := make([]*worker, 60)
	due := map[*worker]time.Time{}
	for i := range ws {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		ws[i] = newWorker(ctx, cancel, env, fmt.Sprint(i))
		at := start.Add(time.Duration(1+rnd.IntN(600)) * time.Second)
		p.arm(ws[i], at)
		due[ws[i]] = at
	}
	for i, w := range ws {
		switch i % 3 {
		case 0: // stopped: never wakes
			p.stop(w)
			delete(due, w)
		case 1: // armed again, earlier or later
			at := start.Add(time.Duration(1+rnd.IntN(600)) * time.Second)
			p.arm(w, at)
			due[w] = at
		}
	}
	woken := func(w *worker) bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.pending&trigTimer != 0
	}
	for now := start; len(due) > 0; {
		if n := clk.PendingTimers(); n != 1 {
			t.Fatalf("at %v: %d clock timers pending for %d waiting workers, want 1", now, n, len(due))
		}
		now = now.Add(time.Duration(1+rnd.IntN(60)) * time.Second)
		clk.Set(now)
		testenv.WaitFor(t, fmt.Sprintf("the workers due by %v woken", now), func() bool {
			for w, at := range due {
				if !at.After(now) && !woken(w) {
					return false
				}
			}
			return true
		})
		for _, w := range ws {
			at, waits := due[w]
			if woken(w) != (waits && !at.After(now)) {
				t.Fatalf("at %v: worker %s (due %v, waits %v) woken = %v", now, w.smtp, at, waits, woken(w))
			}
		}
		for w, at := range due {
			if !at.After(now) {
				delete(due, w)
				w.mu.Lock()
				w.pending = 0
				w.mu.Unlock()
			}
		}
	}
	if n := clk.PendingTimers(); n != 0 {
		t.Errorf("%d clock timers pending with no worker waiting, want 0", n)
	}
}
