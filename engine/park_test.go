package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// parked counts the engine's workers that no goroutine runs.
func (h *harness) parked() int {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	n := 0
	for _, w := range h.e.workers {
		w.mu.Lock()
		if w.parked {
			n++
		}
		w.mu.Unlock()
	}
	return n
}

func (h *harness) waitParked(n int) {
	h.t.Helper()
	testenv.WaitFor(h.t, fmt.Sprintf("%d workers parked", n), func() bool { return h.parked() == n })
}

func names(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("p%02d@example.org", i))
	}
	return out
}

func TestLiveWorkersParkAndAWakeRunsThemAgain(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(3)
	for _, m := range mbx {
		fx.put(m, occ("a-"+m, "A", 1))
	}
	h := start(t, fx, memstore.New(), mbx, nil)
	h.waitParked(len(mbx))
	testenv.WaitFor(t, "a stream with every mailbox", func() bool { return fx.streamWith(mbx...) })
	h.waitParked(len(mbx)) // the stream's first message re-verified them

	// A notification wakes one parked worker: it coalesces, re-reads and
	// parks again.
	fx.put(mbx[0], occ("b", "B", 2))
	h.waitSubjects(mbx[0], "B")
	h.waitParked(len(mbx))

	// A manual sync of a parked worker answers from a read begun after it.
	reads := fx.countFor("CalendarView", mbx[1])
	if err := h.e.SyncNow(context.Background(), mbx[1]); err != nil {
		t.Fatalf("SyncNow of a parked worker = %v", err)
	}
	if got := fx.countFor("CalendarView", mbx[1]); got <= reads {
		t.Errorf("reads of %s after SyncNow = %d, want more than %d", mbx[1], got, reads)
	}
	h.waitParked(len(mbx))
}

func TestAParkedWorkersTimerWakesIt(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(2)
	h, clk := startReconcilingHourly(t, fx, mbx)
	h.waitParked(len(mbx))
	testenv.WaitFor(t, "a due time per parked worker", func() bool { return len(h.dueTimes()) == len(mbx) })
	before := fx.count("CalendarView")
	// The first reconciliation falls within one interval: no goroutine
	// waits for it, the timer's function wakes the worker.
	clk.Advance(time.Hour + time.Minute)
	testenv.WaitFor(t, "every mailbox reconciled", func() bool { return fx.count("CalendarView") == before+len(mbx) })
	h.waitParked(len(mbx))
}

func TestStopAndRemoveReachParkedWorkers(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(3)
	st := memstore.New()
	h := start(t, fx, st, mbx, nil)
	h.waitParked(len(mbx))

	// Remove waits for the parked worker: it wakes, ends its subscription
	// and deletes the mailbox's data.
	h.e.Remove(mbx[0])
	if n := fx.count("Unsubscribe"); n != 1 {
		t.Errorf("Unsubscribe calls after removing a parked mailbox = %d, want 1", n)
	}
	if _, err := st.Mailbox(context.Background(), mbx[0]); err == nil {
		t.Errorf("the removed parked mailbox's data is still stored")
	}

	// Stopping the engine wakes every parked worker, which stores its
	// stopped status.
	h.stop()
	for _, m := range mbx[1:] {
		rec, err := st.Mailbox(context.Background(), m)
		if err != nil || rec.Status.State != StateStopped {
			t.Errorf("stored status of %s after the stop = %q, %v; want %s", m, rec.Status.State, err, StateStopped)
		}
	}
}

func TestAWorkerNeverRunsOnTwoGoroutines(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(8)
	var mu sync.Mutex
	inView := map[string]int{}
	var twice []string
	fx.fail = func(op, smtp string) error {
		if op == "CalendarView" {
			mu.Lock()
			inView[smtp]++
			if inView[smtp] > 1 {
				twice = append(twice, smtp)
			}
			mu.Unlock()
		}
		return nil
	}
	fx.afterView = func(smtp string) {
		mu.Lock()
		inView[smtp]--
		mu.Unlock()
	}
	h := start(t, fx, memstore.New(), mbx, func(o *Options) { o.CoalesceDelay = -1 })
	h.waitParked(len(mbx))

	// Wakes of every kind at once, from many goroutines, while the
	// workers park and resume: hints, manual syncs, OOF triggers, Remove
	// and Add of the same mailbox.
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				m := mbx[(g+i)%len(mbx)]
				w := h.e.worker(m)
				switch {
				case w == nil:
				case i%7 == 0:
					_ = h.e.SyncNow(context.Background(), m)
				case i%5 == 0:
					w.notify(trigOOF)
				default:
					w.hint(time.Now())
				}
				if g == 0 && i%10 == 9 {
					h.e.Remove(mbx[len(mbx)-1])
					h.e.Add(mbx[len(mbx)-1])
				}
			}
		}()
	}
	wg.Wait()
	h.waitParked(len(mbx))
	mu.Lock()
	defer mu.Unlock()
	if len(twice) > 0 {
		t.Errorf("two reads of one mailbox at once (two goroutines ran its worker): %v", twice)
	}
}
