package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestHandedOverMailboxKeepsItsSubscription: a mailbox the engine stops
// syncing because another instance took it over (Options.HandedOver)
// keeps its subscription and its stored data for the new owner, while a
// mailbox that left the configuration is unsubscribed and deleted as
// before. The new owner, another instance of the cluster, resumes from
// the stored window but subscribes anew: the old owner may still stream
// the kept subscription (worker_state.go resumable).
func TestHandedOverMailboxKeepsItsSubscription(t *testing.T) {
	const alice, bob, carol = "alice@example.org", "bob@example.org", "carol@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "A", 1))
	fx.put(bob, occ("b1", "B", 1))
	fx.put(carol, occ("c1", "C", 1))
	st := memstore.New()
	handed := func(smtp string) bool { return smtp == alice }
	h := start(t, fx, st, []string{alice, bob, carol}, func(o *Options) { o.HandedOver = handed })
	for _, m := range []string{alice, bob, carol} {
		h.waitState(m, StateLive)
	}
	h.e.SetMailboxes([]string{carol})
	for _, m := range []string{alice, bob} {
		testenv.WaitFor(t, m+"'s worker retired", func() bool {
			_, err := h.e.Status(m)
			return errors.Is(err, ErrUnknownMailbox)
		})
	}
	testenv.WaitFor(t, "bob (removed) unsubscribed and deleted", func() bool {
		_, err := st.Mailbox(context.Background(), bob)
		return fx.countFor("Unsubscribe", bob) == 1 && err != nil
	})
	if n := fx.countFor("Unsubscribe", alice); n != 0 {
		t.Errorf("alice (handed over): %d Unsubscribe, want none", n)
	}
	rec, err := st.Mailbox(context.Background(), alice)
	if err != nil || rec.Checkpoint.SubscriptionID == "" {
		t.Fatalf("alice's stored checkpoint after the handover = %+v, %v; want it kept with its subscription", rec.Checkpoint, err)
	}
	h.stop()

	// The new owner (another cluster instance over the same store)
	// subscribes alice once, with a subscription of its own.
	subs := fx.countFor("Subscribe", alice)
	h2 := start(t, fx, st, []string{alice}, func(o *Options) { o.HandedOver = handed })
	h2.waitState(alice, StateLive)
	if n := fx.countFor("Subscribe", alice) - subs; n != 1 {
		t.Errorf("the new owner subscribed alice %d times, want 1 (a subscription of its own, not the old owner's)", n)
	}
}
