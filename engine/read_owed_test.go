package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestFailedReadIsRetriedEvenWhenAReplayLooksCovered: a notification's
// read of a real change fails (ErrorServerBusy); while it fails, the
// stream delivers a replay of a change the stored window already shows.
// The failed read took the change's events when it began, so its retry
// must read: skipped as a covered replay (worker_replay.go), the change
// would stay unread until reconciliation — the chaos tests' divergence.
func TestFailedReadIsRetriedEvenWhenAReplayLooksCovered(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occKey("a1", "k1", "One", 1))
	h := start(t, fx, memstore.New(), []string{alice}, func(o *Options) {
		o.RetryBase = 10 * time.Millisecond
	})
	h.waitSubjects(alice, "One")
	h.waitState(alice, StateLive)
	w := h.e.worker(alice)

	// The hook runs on a worker goroutine, where t.Fatal must not be
	// called: it only tells the test that the read is failing and holds
	// the failure until the test goroutine has delivered the replay and
	// seen the worker hold it (stop lets it go if the test fails first;
	// registered after start, it runs before the engine stops).
	failing, proceed, stop := make(chan struct{}), make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop) })
	var once sync.Once
	fx.setFail(func(op, _ string) error {
		if op != "CalendarView" {
			return nil
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return nil
		}
		close(failing)
		select {
		case <-proceed:
		case <-stop:
		}
		return &ExchangeError{Code: "ErrorServerBusy"}
	})
	// The change: a1 at k2, its notification not covered by the window.
	fx.mu.Lock()
	fx.items[alice] = []calendar.Occurrence{occKey("a1", "k2", "Two", 1)}
	fx.mu.Unlock()
	replay(t, fx, alice, Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k2"})
	select {
	case <-failing:
	case <-time.After(testenv.WaitTimeout):
		t.Fatal("the change's read never reached Exchange")
	}
	// While the read fails, the stream replays a change that the stored
	// window shows (a1 at k1); the read fails once the worker holds it as
	// a hint, so the retry sees it.
	replay(t, fx, alice, Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k1"})
	testenv.WaitFor(t, "the replay held as a hint while the read fails", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.hinted.events) > 0
	})
	close(proceed)
	h.waitSubjects(alice, "Two")
}

// TestReconnectReadIsNotSkippedAsTheDueNotificationsReplay: a
// notification's read is due (its events a replay the stored window
// shows) but waits for an admission slot; meanwhile the mailbox changes
// without an event and its stream is cut and reconnects. The reconnected
// stream's re-read must happen — the gap's change has no event — and not
// be skipped with the covered notification (worker_replay.go).
func TestReconnectReadIsNotSkippedAsTheDueNotificationsReplay(t *testing.T) {
	const alice, bob = "alice@example.org", "bob@example.org"
	fx := newFakeExchange()
	fx.put(alice, occKey("a1", "k1", "One", 1))
	fx.put(bob, occ("b1", "B", 1))
	h := startGated(t, fx, []string{alice, bob}, 1, 1, nil)
	h.waitSubjects(alice, "One")
	h.waitState(alice, StateLive)
	h.waitState(bob, StateLive)
	w := h.e.worker(alice)

	// Bob's manual sync holds the one step slot in its read.
	var hold sync.Once
	held, release := make(chan struct{}), make(chan struct{})
	fx.setFail(func(op, smtp string) error {
		if op == "CalendarView" && smtp == bob {
			hold.Do(func() {
				close(held)
				<-release
			})
		}
		return nil
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	synced := make(chan error, 1)
	go func() { synced <- h.e.SyncNow(context.Background(), bob) }()
	<-held

	// A replay of what the window shows: alice's notification read falls
	// due and waits for the slot.
	replay(t, fx, alice, Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k1"})
	testenv.WaitFor(t, "alice's notification read waiting for a slot", func() bool {
		return h.e.admit.waiting() == 1
	})
	// The change nobody is told of, then the cut and the reconnect.
	fx.mu.Lock()
	fx.items[alice] = []calendar.Occurrence{occKey("a1", "k2", "Two", 1)}
	var cut *fakeStream
	for s := range fx.streams {
		cut = s
	}
	fx.mu.Unlock()
	cut.cut()
	testenv.WaitFor(t, "alice's read a recovery's after the reconnect", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		// Parked, its loop is not running: its fields are stable.
		return w.parked && w.readReason == "reconnect"
	})
	close(release)
	if err := <-synced; err != nil {
		t.Fatalf("SyncNow(bob) = %v", err)
	}
	h.waitSubjects(alice, "Two")
}
