package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// discoverSizes records the size of every Autodiscover batch.
type discoverSizes struct {
	*fakeExchange
	mu    sync.Mutex
	sizes []int
}

func (d *discoverSizes) Discover(ctx context.Context, smtps []string) ([]DiscoverResult, error) {
	d.mu.Lock()
	d.sizes = append(d.sizes, len(smtps))
	d.mu.Unlock()
	return d.fakeExchange.Discover(ctx, smtps)
}

func (d *discoverSizes) batches() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int(nil), d.sizes...)
}

// TestStepSlotsHoldAFullAutodiscoverBatch: at the budget's default
// concurrency the step gate admits few enough workers to bound the load's
// goroutines (admitSlotsFor), and a start's first Autodiscover request
// carries a full batch — every worker queued its lookup when it restored
// (discover.go), the admitted ones wait for the answer holding their slot.
func TestStepSlotsHoldAFullAutodiscoverBatch(t *testing.T) {
	const n = 300
	fx := newFakeExchange()
	users := names(n)
	for _, u := range users {
		fx.put(u, occ("a-"+u, "A", 1))
	}
	disco := &discoverSizes{fakeExchange: fx}
	clk := clock.NewFake(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	h := start(t, fx, memstore.New(), users, func(o *Options) {
		o.Exchange = disco
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = 50 * time.Millisecond
	})
	slots := admitSlotsFor(h.e.opts.Budget.Concurrency)
	if slots >= n {
		t.Fatalf("admitSlotsFor(%d) = %d: the test needs more mailboxes than slots", h.e.opts.Budget.Concurrency, slots)
	}
	// The batch's delay has not passed: every mailbox's lookup is queued,
	// the admitted workers wait for it in their slots, the rest are queued
	// at the gate without one.
	testenv.WaitFor(t, "every lookup queued, the admitted workers waiting for Autodiscover, the others at the gate", func() bool {
		return h.e.disco.queued() == n && h.e.admit.waiting() == n-slots
	})
	testenv.WaitFor(t, "every mailbox live", func() bool {
		clk.Advance(50 * time.Millisecond)
		return h.e.StateCounts()[StateLive] == n
	})
	got := disco.batches()
	if got[0] != maxDiscoverBatch {
		t.Errorf("first Autodiscover batch of a start = %d mailboxes (%d step slots at concurrency %d), want a full %d; batches %v",
			got[0], slots, h.e.opts.Budget.Concurrency, maxDiscoverBatch, got)
	}
	sum := 0
	for _, s := range got {
		sum += s
	}
	if sum != n {
		t.Errorf("Autodiscover batches %v ask %d mailboxes, want each of the %d once", got, sum, n)
	}
}
