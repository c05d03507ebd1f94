package presence

import (
	"errors"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
)

// A failing reload keeps the previous plan: its transitions must still fire
// on time while the load is retried, not wait for the store to recover.
func TestSchedulerFailingReloadStillFiresPlannedTransitions(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:59"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 09:00", "2025-11-24 10:00", meeting)}, calendar.OOFSettings{}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	n := len(h.rec.all())

	// The store fails from 08:59:50 on; a change notification arrives.
	h.clock.Set(at("2025-11-24 08:59").Add(50 * time.Second))
	src.mu.Lock()
	src.fail["alice@example.com"] = errors.New("store unavailable")
	src.mu.Unlock()
	h.s.CalendarChanged("alice@example.com")
	h.waitIdle()

	h.advanceTo("2025-11-24 09:00")
	got := h.rec.since(n)
	if len(got) != 1 || got[0].Current.Availability != Busy || !got[0].At.Equal(at("2025-11-24 09:00")) {
		t.Fatalf("at 09:00 with the store failing: %+v, want the planned meeting published at 09:00", got)
	}
	n++
	// Retries go on (every RetryDelay) while the store fails.
	loads := src.loadCount()
	h.clock.Advance(30 * time.Second)
	h.waitIdle()
	if src.loadCount() <= loads {
		t.Errorf("no reload retried while the store fails (loads %d)", src.loadCount())
	}
	h.advanceTo("2025-11-24 10:00")
	if got := h.rec.since(n); len(got) != 1 || got[0].Current.Availability != Available || !got[0].At.Equal(at("2025-11-24 10:00")) {
		t.Fatalf("at 10:00 with the store failing: %+v, want available at 10:00", got)
	}
	n++
	// Recovery: the next retry loads; nothing changes.
	src.mu.Lock()
	delete(src.fail, "alice@example.com")
	src.mu.Unlock()
	loads = src.loadCount()
	h.clock.Advance(30 * time.Second)
	h.waitIdle()
	if src.loadCount() != loads+1 {
		t.Errorf("loads = %d, want one retry after recovery (%d)", src.loadCount(), loads+1)
	}
	if got := h.rec.since(n); len(got) != 0 {
		t.Errorf("recovery published %+v", got)
	}
}
