package presence

import (
	"context"
	"errors"
	"sync"
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

// gatedSource lets a test hold one Load after it read its snapshot.
type gatedSource struct {
	*fakeSource
	mu      sync.Mutex
	gate    chan struct{}
	entered chan struct{}
}

// hold makes the next Load wait, after reading, until release is closed.
func (g *gatedSource) hold() (entered chan struct{}, release chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.entered = make(chan struct{}), make(chan struct{})
	return g.entered, g.gate
}

func (g *gatedSource) Load(ctx context.Context, user string, from, to time.Time) (Input, error) {
	in, err := g.fakeSource.Load(ctx, user, from, to)
	g.mu.Lock()
	gate, entered := g.gate, g.entered
	g.gate, g.entered = nil, nil
	g.mu.Unlock()
	if gate != nil {
		close(entered)
		<-gate
	}
	return in, err
}

func startGatedScheduler(t *testing.T, c *clock.Fake, src *gatedSource) *harness {
	t.Helper()
	h := newHarness(t, c, src.fakeSource)
	return h.run(SchedulerOptions{Rules: mustCompile(t, RuleSet{}), Source: src, Store: &mapPresenceStore{}, Publish: h.rec.publish})
}

// A reload that read the calendar before a newer change was committed must
// not publish a transition of the outdated plan: the meeting starting at
// 10:00 was deleted while the reload was in flight, so alice stays
// available — no "busy" that is withdrawn a moment later.
func TestSchedulerStaleReloadPublishesNoOutdatedTransition(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 09:59"))
	src := &gatedSource{fakeSource: newFakeSource()}
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 10:00", "2025-11-24 11:00", meeting)}, calendar.OOFSettings{}, true)
	h := startGatedScheduler(t, c, src)
	n := len(h.rec.all())

	entered, release := src.hold()
	h.s.CalendarChanged("alice@example.com") // e.g. a change to the meeting's body
	<-entered
	// While that load is in flight the meeting is deleted and the
	// engine reports it; the clock reaches the old meeting's start.
	src.set("alice@example.com", nil, calendar.OOFSettings{}, true)
	h.s.CalendarChanged("alice@example.com")
	c.Set(at("2025-11-24 10:00"))
	close(release)
	h.waitIdle()

	if got := h.rec.since(n); len(got) != 0 {
		t.Fatalf("published %d changes for a deleted meeting: %+v", len(got), got)
	}
	if p, _ := h.s.Current("alice@example.com"); p.Availability != Available {
		t.Errorf("current = %+v, want available", p)
	}
}

// An override "until the next calendar transition" that ends at a
// transition showing the same presence publishes nothing, but it has ended:
// the stored document must say so, or a restart brings it back. Here the
// meeting that ended it is deleted while calsync is down; the resurrected
// override would then have no transition to end at and hold forever.
func TestSchedulerOverrideEndedWithoutChangeStaysEndedAfterRestart(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 10:30"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 11:00", "2025-11-24 12:00", meeting)}, calendar.OOFSettings{}, true)
	st := &mapPresenceStore{}
	rules := mustCompile(t, RuleSet{Rules: []Rule{{Name: "busy", Match: Match{FreeBusy: []string{"busy"}}, Profile: "busy", StatusText: "Busy"}}})
	h1 := startScheduler(t, c, src, st, rules)
	if _, err := h1.s.SetOverride(context.Background(), "alice@example.com", Override{Availability: Busy, Profile: "busy", StatusText: "Busy"}); err != nil {
		t.Fatal(err)
	}
	h1.waitIdle()
	n := len(h1.rec.all())
	h1.advanceTo("2025-11-24 11:00") // the override ends; the meeting shows the same
	if got := h1.rec.since(n); len(got) != 0 {
		t.Fatalf("override ending into an identical presence published %+v", got)
	}
	if p, _ := h1.s.Current("alice@example.com"); p.Why.Source != "calendar" {
		t.Fatalf("at 11:00 the calendar should decide: %+v", p)
	}
	h1.stop()

	// Down; the meeting is deleted; restart at 11:15.
	src.set("alice@example.com", nil, calendar.OOFSettings{}, true)
	c.Set(at("2025-11-24 11:15"))
	h2 := startScheduler(t, c, src, st, rules)
	got := h2.rec.all()
	if len(got) != 1 || got[0].Current.Availability != Available {
		t.Fatalf("restart after the meeting was deleted published %+v, want alice available", got)
	}
	if p, _ := h2.s.Current("alice@example.com"); p.Why.Source == "override" {
		t.Errorf("the ended override came back after the restart: %+v", p)
	}
}
