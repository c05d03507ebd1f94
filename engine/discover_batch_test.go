package engine

import (
	"context"
	"testing"
	"time"

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
	t.Cleanup(func() {
		select {
		case <-rec.release:
		default:
			close(rec.release)
		}
	})
	select {
	case <-rec.answered:
	case <-time.After(testenv.WaitTimeout):
		t.Fatal("the first batch never reached Exchange")
	}
	first := rec.batches()[0] // what gathered in DiscoverBatchDelay
	testenv.WaitFor(t, "every mailbox's lookup queued while the first batch is in flight", func() bool {
		return h.e.disco.queued() == n-first
	})
	close(rec.release)
	testenv.WaitFor(t, "every mailbox live", func() bool { return h.e.StateCounts()[StateLive] == n })

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
