package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestViewCountsOnlyRequestsSent: a CalendarView still queued in the
// budget when its mailbox stops never reaches Exchange and is not counted
// in calendar_view_requests_total; one the budget lets go is.
func TestViewCountsOnlyRequestsSent(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "One", 1))
	opts := testOptions(fx, memstore.New())
	opts.Budget.Concurrency = 1
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	// The test holds the budget's only slot: alice's read queues behind it.
	if err := e.budget.global.acquire(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	w := newWorker(ctx, stop, e.env, alice)
	start := time.Now().Add(-time.Hour)
	end := start.Add(24 * time.Hour)
	done := make(chan error, 1)
	go func() {
		_, release, err := w.view(ctx, start, end, 0, "initial")
		releasePage(release)
		done <- err
	}()
	testenv.WaitFor(t, "alice's read queued in the budget", func() bool {
		e.budget.global.mu.Lock()
		defer e.budget.global.mu.Unlock()
		return len(e.budget.global.waiters) == 1
	})
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("view at a stop = %v, want context.Canceled", err)
	}
	e.budget.global.release()
	if n := fx.count("CalendarView"); n != 0 {
		t.Fatalf("CalendarView requests Exchange received = %d, want 0", n)
	}
	if got := counterValue(t, e.metrics.reads, "initial"); got != 0 {
		t.Errorf("reads{initial} after a read stopped in the budget queue = %v, want 0 (never sent)", got)
	}

	w = newWorker(t.Context(), func() {}, e.env, alice)
	occs, release, err := w.view(t.Context(), start, end, 0, "initial")
	releasePage(release)
	if err != nil || len(occs) != 1 {
		t.Fatalf("view = %d occurrences, %v; want 1, nil", len(occs), err)
	}
	if got, sent := counterValue(t, e.metrics.reads, "initial"), fx.count("CalendarView"); got != 1 || sent != 1 {
		t.Errorf("reads{initial} = %v for %d requests sent, want 1 for 1", got, sent)
	}
}
