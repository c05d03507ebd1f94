package engine

import (
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
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

	var mu sync.Mutex
	failed, replayHeld := false, false
	fx.setFail(func(op, _ string) error {
		mu.Lock()
		defer mu.Unlock()
		if op != "CalendarView" || failed {
			return nil
		}
		failed = true
		// While the read fails, the stream replays a change that the
		// stored window shows (a1 at k1); the hook returns once the
		// worker holds it as a hint, so the retry sees it.
		replay(t, fx, alice, Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k1"})
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			w.mu.Lock()
			replayHeld = len(w.hinted.events) > 0
			w.mu.Unlock()
			if replayHeld {
				break
			}
		}
		return &ExchangeError{Code: "ErrorServerBusy"}
	})
	// The change: a1 at k2, its notification not covered by the window.
	fx.mu.Lock()
	fx.items[alice] = []calendar.Occurrence{occKey("a1", "k2", "Two", 1)}
	fx.mu.Unlock()
	replay(t, fx, alice, Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k2"})
	h.waitSubjects(alice, "Two")
	mu.Lock()
	defer mu.Unlock()
	if !failed || !replayHeld {
		t.Fatalf("read failed %v, replay held as a hint before the retry %v: the test did not test the retry", failed, replayHeld)
	}
}
