package engine

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// sizedHeldDiscover records the size of every Discover batch and holds
// the first one's answer until released.
type sizedHeldDiscover struct {
	*discoverSizes
	firstHeld
}

func (s *sizedHeldDiscover) Discover(ctx context.Context, smtps []string) ([]DiscoverResult, error) {
	r, err := s.discoverSizes.Discover(ctx, smtps)
	s.hold()
	return r, err
}

// TestAStartsAutodiscoverBatchesAreFull: the workers of a start queue their
// Autodiscover lookups when they restore, not when their first step gets a
// slot of the admission gate (admit.go), so the lookups of every mailbox
// are queued while the first batch is in flight and the batches are few and
// full. Before, only the workers holding a step slot (100) had asked; the
// rest asked as slots came free, one at a time, and a 10,000-mailbox start
// sent about 1,100 GetUserSettings of 8–12 mailboxes.
func TestAStartsAutodiscoverBatchesAreFull(t *testing.T) {
	const n = 1000
	fx := newFakeExchange()
	rec := &sizedHeldDiscover{discoverSizes: &discoverSizes{fakeExchange: fx}, firstHeld: newFirstHeld()}
	h := start(t, fx, memstore.New(), names(n), func(o *Options) { o.Exchange = rec })
	rec.releaseAtCleanup(t)
	rec.waitAnswered(t)
	first := rec.batches()[0] // what gathered in DiscoverBatchDelay
	testenv.WaitFor(t, "every mailbox's lookup queued while the first batch is in flight", func() bool {
		return h.e.disco.queued() == n-first
	})
	close(rec.release)
	// Every lookup sent is what the batches' sizes need; the rest of the
	// load (1,000 reads and subscriptions) took more than 30 s on a busy
	// 2-core machine under -race with GOMAXPROCS=1.
	testenv.WaitFor(t, "every mailbox's lookup sent", func() bool {
		sent := 0
		for _, size := range rec.batches() {
			sent += size
		}
		return sent >= n
	})

	sizes := rec.batches()
	// The rest leave in full batches, the last one holding what is left.
	want := 1 + (n-first+maxDiscoverBatch-1)/maxDiscoverBatch
	if len(sizes) != want {
		t.Errorf("%d Autodiscover requests for %d mailboxes, want %d (full batches of %d after the first): sizes %v", len(sizes), n, want, maxDiscoverBatch, sizes)
	}
	for i := 1; i < min(len(sizes), want-1); i++ {
		if sizes[i] != maxDiscoverBatch {
			t.Errorf("batch %d holds %d mailboxes, want %d: sizes %v", i, sizes[i], maxDiscoverBatch, sizes)
			break
		}
	}
}

// batchesHeld records every Discover batch and holds the first one's
// answer until released.
type batchesHeld struct {
	*fakeExchange
	firstHeld
	mu      sync.Mutex
	batches [][]string
}

func (b *batchesHeld) Discover(ctx context.Context, smtps []string) ([]DiscoverResult, error) {
	b.mu.Lock()
	b.batches = append(b.batches, slices.Clone(smtps))
	b.mu.Unlock()
	r, err := b.fakeExchange.Discover(ctx, smtps)
	b.hold()
	return r, err
}

// TestAnAwaitedLookupGoesAheadOfTheRestoresQueue: a step that awaits its
// lookup at once (a retry, a move, a renewal) is in the next batch, not
// behind the lookups every mailbox of a start queued when it restored
// (thousands at a large start, each batch a request in the budget).
func TestAnAwaitedLookupGoesAheadOfTheRestoresQueue(t *testing.T) {
	const queued, urgent = 200, "urgent@example.org"
	fx := newFakeExchange()
	rec := &batchesHeld{fakeExchange: fx, firstHeld: newFirstHeld()}
	h := start(t, fx, memstore.New(), nil, func(o *Options) { o.Exchange = rec })
	rec.releaseAtCleanup(t)
	d := h.e.disco
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	go func() { _, _ = d.discover(ctx, "first@example.org") }()
	rec.waitAnswered(t)
	for _, smtp := range names(queued) {
		d.ask(smtp)
	}
	done := make(chan DiscoverResult, 1)
	go func() { r, _ := d.discover(ctx, urgent); done <- r }()
	testenv.WaitFor(t, "the awaited lookup queued behind the restores' ones", func() bool { return d.queued() == queued+1 })
	close(rec.release)
	select {
	case r := <-done:
		if r.Err != nil {
			t.Fatalf("awaited lookup: %v", r.Err)
		}
	case <-ctx.Done():
		t.Fatal("the awaited lookup was never answered")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.batches) < 2 || !slices.Contains(rec.batches[1], urgent) {
		var at int
		for i, b := range rec.batches {
			if slices.Contains(b, urgent) {
				at = i
			}
		}
		t.Errorf("the awaited lookup went out in batch %d of %d, want the one after the batch in flight (1)", at, len(rec.batches))
	}
}
