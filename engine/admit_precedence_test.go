package engine

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
)

// TestLiveWorkersGoBeforeLoadsWithoutStarvingThem: one slot, three first
// loads queued before five live workers. The live ones go first, but while
// loads wait every admitLoadEvery-th grant is a load's.
func TestLiveWorkersGoBeforeLoadsWithoutStarvingThem(t *testing.T) {
	a := newAdmission(1, func(w *worker) *admitState { return &w.stepSlot })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	newW := func(name string, live bool) *worker {
		w := newWorker(ctx, cancel, &workerEnv{}, name)
		w.parked = false // running: a turn is a pending trigAdmit
		w.wasLive = live
		return w
	}
	holder := newW("load0", false)
	if !a.enter(holder) {
		t.Fatal("the first worker did not get the free slot")
	}
	var queued []*worker
	for i := 1; i <= 3; i++ {
		queued = append(queued, newW(fmt.Sprint("load", i), false))
	}
	for i := 1; i <= 5; i++ {
		queued = append(queued, newW(fmt.Sprint("live", i), true))
	}
	for _, w := range queued {
		if a.enter(w) {
			t.Fatalf("%s was admitted past the full slot", w.smtp)
		}
	}
	var order []string
	for range queued {
		a.leave(holder)
		holder = nil
		for _, w := range queued {
			if w.pending&trigAdmit != 0 {
				w.pending &^= trigAdmit
				holder = w
			}
		}
		if holder == nil || !a.enter(holder) {
			t.Fatalf("no worker admitted after %v", order)
		}
		order = append(order, holder.smtp)
	}
	want := "live1 live2 live3 load1 live4 live5 load2 load3"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("admitted in the order %s, want %s", got, want)
	}
}

// TestALiveMailboxsChangeIsReadBeforeQueuedFirstLoads: a mailbox is live
// when four new ones are added behind a gate of one step slot; while the
// first of them reads, the live mailbox changes. Its notification's read
// takes the next slot, before the three loads queued before it
// (first come, first served, it waited for all of them).
func TestALiveMailboxsChangeIsReadBeforeQueuedFirstLoads(t *testing.T) {
	const live = "live@example.org"
	fx := newFakeExchange()
	fx.put(live, occ("a", "A", 1))
	loads := names(4)
	for _, m := range loads {
		fx.put(m, occ("a-"+m, "A", 1))
	}
	// The loads' reads are held, one released per token.
	var began, held atomic.Int32
	release := make(chan struct{})
	fx.setFail(func(op, smtp string) error {
		if op != "CalendarView" || smtp == live {
			return nil
		}
		began.Add(1)
		held.Add(1)
		defer held.Add(-1)
		<-release
		return nil
	})
	h := startGated(t, fx, []string{live}, 10, 1, nil)
	// Registered after startGated's: the held reads end before the stop.
	t.Cleanup(func() { close(release) })
	h.waitState(live, StateLive)
	testenv.WaitFor(t, "a stream with the live mailbox", func() bool { return fx.streamWith(live) })
	h.waitParked(1)

	h.e.SetMailboxes(append([]string{live}, loads...))
	testenv.WaitFor(t, "one load reading, three queued", func() bool {
		return held.Load() == 1 && h.e.admit.waiting() == 3
	})
	fx.put(live, occ("b", "B", 2))
	testenv.WaitFor(t, "the live mailbox's read queued behind the loads", func() bool {
		return h.e.admit.waiting() == 4
	})
	release <- struct{}{} // the first load's read ends: its slot comes free
	testenv.WaitFor(t, "the live mailbox's change stored or a second load reading", func() bool {
		got := h.stored(live)
		return len(got) == 1 && got[0].Subject == "B" || began.Load() == 2
	})
	if got := h.stored(live); len(got) != 1 || got[0].Subject != "B" {
		t.Fatalf("the live mailbox holds %v while a second first load reads: its change waited for the loads", got)
	}
	if n := began.Load(); n > 2 {
		t.Errorf("loads' reads begun = %d, want at most 2 (the one released and the next)", n)
	}
}
