package engine

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// A move in progress keeps the mailbox's last good data trusted: however
// many times Exchange says "being moved", the consecutive failures stay
// at 1 (presence.DefaultTrusted needs < 5) and the state is backoff, never
// denied; when the move ends the mailbox is discovered again, resubscribed
// and read on its new place.
func TestMoveInProgressKeepsTheDataTrusted(t *testing.T) {
	fx := newFakeExchange()
	const alice = "alice@example.org"
	fx.put(alice, occ("a1", "A", 1))
	h := start(t, fx, memstore.New(), []string{alice}, nil)
	h.waitSubjects(alice, "A")
	h.waitState(alice, StateLive)

	var moving atomic.Bool
	var refusals atomic.Int32
	moving.Store(true)
	// Under fx.mu: the streaming connections read fail while they open.
	fx.setFail(func(op, smtp string) error {
		if moving.Load() && op != "Discover" {
			refusals.Add(1)
			return &ExchangeError{Code: "ErrorMailboxMoveInProgress"}
		}
		return nil
	})
	discoveries := fx.count("Discover")
	fx.restart() // the move drops the subscription
	// Between its tries the worker looks the mailbox up again
	// (discovering, subscribing); at no point may it count more than one
	// failure or be denied.
	testenv.WaitFor(t, "ten move-in-progress answers, then backoff with ErrorMailboxMoveInProgress", func() bool {
		st, err := h.e.Status(alice)
		if err != nil || st.State == StateDenied || st.ConsecutiveFailures > 1 {
			t.Fatalf("status while moving = %+v (err %v), want at most 1 consecutive failure, never denied", st, err)
		}
		return refusals.Load() >= 10 && st.State == StateBackoff && st.ConsecutiveFailures == 1 &&
			st.LastError != nil && st.LastError.Code == "ErrorMailboxMoveInProgress"
	})
	if got := h.stored(alice); len(got) != 1 {
		t.Fatalf("stored occurrences while moving = %d, want the last good 1", len(got))
	}

	fx.put(alice, occ("b1", "B", 2)) // the new place, new ids
	moving.Store(false)
	h.waitSubjects(alice, "B")
	h.waitState(alice, StateLive)
	if fx.count("Discover") <= discoveries {
		t.Errorf("Discover calls = %d, want more than %d: a moved mailbox is looked up again", fx.count("Discover"), discoveries)
	}
}

// A move that does not end within maxMoveTrust counts like any other
// failure again.
func TestMoveTrustIsBounded(t *testing.T) {
	w := &worker{env: &workerEnv{clk: clock.NewFake(time.Unix(1e9, 0))}}
	if a := w.moving(); a != actMoving || w.failures != 1 {
		t.Fatalf("first move answer: action %v, failures %d; want actMoving and 1", a, w.failures)
	}
	w.movingSince = w.movingSince.Add(-maxMoveTrust)
	w.failures = 7
	if a := w.moving(); a != actRediscover || w.failures != 7 {
		t.Fatalf("after maxMoveTrust: action %v, failures %d; want actRediscover and the failures kept", a, w.failures)
	}
}
