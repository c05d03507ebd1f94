package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// heldZones holds the answer of its first batch (firstHeld).
type heldZones struct {
	*batchZoneExchange
	firstHeld
}

func (h *heldZones) MailboxTimeZones(ctx context.Context, smtps []string) ([]ZoneResult, error) {
	r, err := h.batchZoneExchange.MailboxTimeZones(ctx, smtps)
	h.hold()
	return r, err
}

// TestZoneAskedAfterABatchWasSentIsAskedAgain: a mailbox asked while a
// batch with it is in flight gets the answer of a request sent after it
// asked — not the batch's, computed before (a successor worker after
// Remove and Add would start from the zone of before).
func TestZoneAskedAfterABatchWasSentIsAskedAgain(t *testing.T) {
	const alice = "alice@example.org"
	fx := newBatchZoneExchange()
	fx.hours[alice] = "America/New_York"
	held := &heldZones{batchZoneExchange: fx, firstHeld: newFirstHeld()}
	h := start(t, fx.fakeExchange, memstore.New(), nil, func(o *Options) { o.Exchange = held })
	held.releaseAtCleanup(t)
	b := h.e.env.zones
	first := b.ask(alice)
	held.waitAnswered(t)
	// The user's zone changes; the mailbox is asked again while the old
	// answer is on its way.
	fx.bmu.Lock()
	fx.hours[alice] = "Asia/Tokyo"
	fx.bmu.Unlock()
	second := b.ask(alice)
	close(held.release)
	for _, c := range []struct {
		name string
		ch   <-chan zoneAnswer
		want string
	}{{"first ask", first, "America/New_York"}, {"ask after the batch was sent", second, "Asia/Tokyo"}} {
		select {
		case a := <-c.ch:
			if !a.ok || a.zone != c.want {
				t.Errorf("%s: zone %q (ok=%v), want %s", c.name, a.zone, a.ok, c.want)
			}
		case <-time.After(testenv.WaitTimeout):
			t.Fatalf("%s was never answered", c.name)
		}
	}
	if got := fx.batchSizes(); len(got) != 2 {
		t.Errorf("batches %v, want 2 (the mailbox asked again)", got)
	}
}

// TestZoneBatchRefusedAsTooBigKeepsOneQueuePlacePerMailbox: a batch the
// server refuses as too big goes out again in halves; a mailbox asked
// again while it was in flight is queued already, and the batch's callers
// join that place instead of queueing the mailbox twice (a request more,
// answering nobody).
func TestZoneBatchRefusedAsTooBigKeepsOneQueuePlacePerMailbox(t *testing.T) {
	const alice, bob = "alice@example.org", "bob@example.org"
	fx := newBatchZoneExchange()
	fx.hours[alice], fx.hours[bob] = "America/New_York", "Asia/Tokyo"
	fx.maxPerReq = 1
	held := &heldZones{batchZoneExchange: fx, firstHeld: newFirstHeld()}
	h := start(t, fx.fakeExchange, memstore.New(), nil, func(o *Options) {
		o.Exchange = held
		o.DiscoverBatchDelay = 50 * time.Millisecond // both asks join one batch
	})
	held.releaseAtCleanup(t)
	b := h.e.env.zones
	asks := []<-chan zoneAnswer{b.ask(alice), b.ask(bob)}
	held.waitAnswered(t)
	asks = append(asks, b.ask(alice))
	close(held.release)
	for i, want := range []string{"America/New_York", "Asia/Tokyo", "America/New_York"} {
		select {
		case a := <-asks[i]:
			if !a.ok || a.zone != want {
				t.Errorf("ask %d: zone %q (ok=%v), want %s", i, a.zone, a.ok, want)
			}
		case <-time.After(testenv.WaitTimeout):
			t.Fatalf("ask %d was never answered", i)
		}
	}
	testenv.WaitFor(t, "the batcher idle", func() bool { return b.queued() == 0 && len(b.sem) == 0 })
	if got := fx.batchSizes(); !slices.Equal(got, []int{2, 1, 1}) {
		t.Errorf("batches %v, want [2 1 1]: the refused pair, then each mailbox once", got)
	}
}
