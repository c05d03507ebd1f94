package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// firstHeld holds the first call, its answer already computed, until
// release is closed (the answer of a batch in flight).
type firstHeld struct {
	once              sync.Once
	answered, release chan struct{}
}

func newFirstHeld() firstHeld {
	return firstHeld{answered: make(chan struct{}), release: make(chan struct{})}
}

// hold is called by every call after computing its answer.
func (h *firstHeld) hold() {
	first := false
	h.once.Do(func() { first = true })
	if first {
		close(h.answered)
		<-h.release
	}
}

// releaseAtCleanup releases the held call when the test ends, if the test
// did not.
func (h *firstHeld) releaseAtCleanup(t *testing.T) {
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
	})
}

// waitAnswered waits until the first call holds its answer.
func (h *firstHeld) waitAnswered(t *testing.T) {
	t.Helper()
	select {
	case <-h.answered:
	case <-time.After(testenv.WaitTimeout):
		t.Fatal("the first batch never reached Exchange")
	}
}

// heldDiscover holds the answer of its first Discover.
type heldDiscover struct {
	*fakeExchange
	firstHeld
}

func (h *heldDiscover) Discover(ctx context.Context, smtps []string) ([]DiscoverResult, error) {
	r, err := h.fakeExchange.Discover(ctx, smtps)
	h.hold()
	return r, err
}

// TestDiscoverAfterABatchWasSentIsAskedAgain: a lookup that begins while
// a batch with the same mailbox is in flight gets an answer to a request
// sent after it began — not the batch's, computed before (after a move,
// that one names the old routing).
func TestDiscoverAfterABatchWasSentIsAskedAgain(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	held := &heldDiscover{fakeExchange: fx, firstHeld: newFirstHeld()}
	h := start(t, fx, memstore.New(), nil, func(o *Options) { o.Exchange = held })
	held.releaseAtCleanup(t)
	d := h.e.disco
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	first := make(chan DiscoverResult, 1)
	go func() { r, _ := d.discover(ctx, alice); first <- r }()
	held.waitAnswered(t)
	// The mailbox moves; a lookup begins while the old answer is on its way.
	fx.mu.Lock()
	fx.grouping[alice] = "site2"
	fx.mu.Unlock()
	second := make(chan DiscoverResult, 1)
	go func() { r, _ := d.discover(ctx, alice); second <- r }()
	testenv.WaitFor(t, "the second lookup registered", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		n := len(d.waiting[alice])
		return n == 2 || n == 1 && (slices.Contains(d.urgent, alice) || slices.Contains(d.order, alice))
	})
	close(held.release)
	if r := <-first; r.GroupingInformation != "site1" {
		t.Errorf("first lookup: grouping %q, want site1", r.GroupingInformation)
	}
	select {
	case r := <-second:
		if r.GroupingInformation != "site2" {
			t.Errorf("lookup begun after the batch was sent: grouping %q, want site2 (the batch's answer from before the move)", r.GroupingInformation)
		}
	case <-time.After(testenv.WaitTimeout):
		t.Fatal("the second lookup was never answered")
	}
}
