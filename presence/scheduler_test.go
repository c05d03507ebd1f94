package presence

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
)

// fakeSource is an in-memory Source.
type fakeSource struct {
	mu    sync.Mutex
	users map[string]*Input
	fail  map[string]error
	loads int
}

func newFakeSource() *fakeSource {
	return &fakeSource{users: map[string]*Input{}, fail: map[string]error{}}
}

func (f *fakeSource) set(user string, occ []calendar.Occurrence, oof calendar.OOFSettings, trusted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[user] = &Input{User: user, Occurrences: occ, OOF: oof, Trusted: trusted, Location: berlin}
}

func (f *fakeSource) Users(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.users)), nil
}

func (f *fakeSource) Load(_ context.Context, user string, from, to time.Time) (Input, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	if err := f.fail[user]; err != nil {
		return Input{}, err
	}
	in, ok := f.users[user]
	if !ok {
		return Input{}, fmt.Errorf("fake: %w", ErrUnknownUser)
	}
	out := *in
	out.Occurrences = make([]calendar.Occurrence, 0, len(in.Occurrences))
	for _, o := range in.Occurrences {
		if o.Overlaps(from, to) {
			out.Occurrences = append(out.Occurrences, o)
		}
	}
	return out, nil
}

func (f *fakeSource) loadCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads
}

// mapPresenceStore is a minimal store.PresenceStore.
type mapPresenceStore struct {
	mu   sync.Mutex
	docs map[string][]byte
	// batches records the users of every SavePresences call, sorted.
	batches [][]string
}

func (m *mapPresenceStore) SavePresence(_ context.Context, smtp string, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	m.docs[smtp] = slices.Clone(doc)
	return nil
}

func (m *mapPresenceStore) SavePresences(_ context.Context, docs map[string][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	for smtp, doc := range docs {
		m.docs[smtp] = slices.Clone(doc)
	}
	m.batches = append(m.batches, slices.Sorted(maps.Keys(docs)))
	return nil
}

func (m *mapPresenceStore) saveBatches() [][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.batches)
}

func (m *mapPresenceStore) LoadPresence(context.Context) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.docs), nil
}

// recorder collects published changes.
type recorder struct {
	mu      sync.Mutex
	changes []Change
}

func (r *recorder) publish(c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

func (r *recorder) all() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

func (r *recorder) since(n int) []Change { return r.all()[n:] }

type harness struct {
	t      *testing.T
	clock  *clock.Fake
	source *fakeSource
	rec    *recorder
	s      *Scheduler
	cancel context.CancelFunc
	done   chan error
}

func startScheduler(t *testing.T, c *clock.Fake, src *fakeSource, st store.PresenceStore, rules *CompiledRules) *harness {
	t.Helper()
	h := newHarness(t, c, src)
	return h.run(SchedulerOptions{Rules: rules, Source: src, Store: st, Publish: h.rec.publish, Horizon: 7 * 24 * time.Hour})
}

// newHarness returns a harness whose scheduler is not built yet.
func newHarness(t *testing.T, c *clock.Fake, src *fakeSource) *harness {
	return &harness{t: t, clock: c, source: src, rec: &recorder{}, done: make(chan error, 1)}
}

// run builds the scheduler from opts (on the harness's clock), runs it
// until the test ends and waits until it is idle.
func (h *harness) run(opts SchedulerOptions) *harness {
	h.t.Helper()
	opts.Clock = h.clock
	s, err := NewScheduler(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.s = s
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- s.Run(ctx) }()
	h.t.Cleanup(h.stop)
	h.waitIdle()
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	if err := <-h.done; !errors.Is(err, context.Canceled) {
		h.t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

// waitIdle polls until the scheduler has nothing to do before its timer.
func (h *harness) waitIdle() {
	h.t.Helper()
	testenv.WaitFor(h.t, "scheduler idle", h.s.idle)
}

func (h *harness) advanceTo(s string) {
	h.t.Helper()
	h.clock.Set(at(s))
	h.waitIdle()
}

func TestSchedulerFiresTransitionsAtExactInstants(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{
		occ("a", "2025-11-24 09:00", "2025-11-24 10:00", meeting),
		occ("b", "2025-11-24 10:00", "2025-11-24 10:30", meeting),
		occ("t", "2025-11-24 11:00", "2025-11-24 12:00", fb(calendar.Tentative)),
	}, calendar.OOFSettings{}, true)
	src.set("bob@example.com", nil, calendar.OOFSettings{}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))

	first := h.rec.all()
	if len(first) != 2 || first[0].Current.Availability != Available || first[1].Current.Availability != Available {
		t.Fatalf("initial changes = %+v, want both users available", first)
	}
	if n := c.PendingTimers(); n != 1 {
		t.Errorf("pending timers = %d, want exactly one for all users", n)
	}
	if p, ok := h.s.Current("alice@example.com"); !ok || p.Next == nil || !p.Next.At.Equal(at("2025-11-24 09:00")) || p.Next.Availability != Busy {
		t.Errorf("current = %+v, want next transition to busy at 09:00", p)
	}

	// One nanosecond early: nothing fires.
	h.clock.Set(at("2025-11-24 09:00").Add(-time.Nanosecond))
	h.waitIdle()
	if got := h.rec.since(2); len(got) != 0 {
		t.Fatalf("changes before 09:00: %+v", got)
	}

	steps := []struct {
		at    string
		avail Availability
		text  string
	}{
		{"2025-11-24 09:00", Busy, "In a meeting until 10:30"},
		{"2025-11-24 10:30", Available, ""},
		{"2025-11-24 11:00", Tentative, "Tentatively busy until 12:00"},
		{"2025-11-24 12:00", Available, ""},
	}
	n := 2
	for _, st := range steps {
		h.advanceTo(st.at)
		got := h.rec.since(n)
		if len(got) != 1 {
			t.Fatalf("at %s: %d changes %+v, want 1", st.at, len(got), got)
		}
		ch := got[0]
		if ch.User != "alice@example.com" || !ch.At.Equal(at(st.at)) || ch.Current.Availability != st.avail || ch.Current.StatusText != st.text {
			t.Errorf("at %s: change %s %s %q at %s, want alice %s %q", st.at, ch.User, ch.Current.Availability, ch.Current.StatusText, ch.At, st.avail, st.text)
		}
		if ch.Previous == nil {
			t.Errorf("at %s: change without previous presence", st.at)
		}
		n++
	}
	// 10:00 lies inside the merged block: no change was emitted there
	// (checked by the exact count above), and nothing was reloaded.
	if loads := src.loadCount(); loads != 2 {
		t.Errorf("source loads = %d, want 2 (transitions need no reload)", loads)
	}
}

func TestSchedulerReplansOnCalendarChange(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	src.set("alice@example.com", nil, calendar.OOFSettings{}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	n := len(h.rec.all())

	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 07:30", "2025-11-24 08:30", meeting)}, calendar.OOFSettings{}, true)
	h.s.CalendarChanged("alice@example.com")
	h.waitIdle()
	got := h.rec.since(n)
	if len(got) != 1 || got[0].Current.Availability != Busy || got[0].Current.StatusText != "In a meeting until 08:30" || !got[0].At.Equal(at("2025-11-24 08:00")) {
		t.Fatalf("after adding a running meeting: %+v", got)
	}
	n += len(got)

	// Moving the meeting's end re-plans the transition.
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 07:30", "2025-11-24 09:00", meeting)}, calendar.OOFSettings{}, true)
	h.s.CalendarChanged("alice@example.com")
	h.waitIdle()
	h.advanceTo("2025-11-24 08:30")
	got = h.rec.since(n)
	if len(got) != 1 || got[0].Current.StatusText != "In a meeting until 09:00" {
		t.Fatalf("after moving the end: %+v", got)
	}
	n += len(got)
	h.advanceTo("2025-11-24 09:00")
	if got = h.rec.since(n); len(got) != 1 || got[0].Current.Availability != Available {
		t.Fatalf("at the new end: %+v", got)
	}
	n += len(got)

	// Sync failing: unknown, never a guess.
	src.set("alice@example.com", nil, calendar.OOFSettings{}, false)
	h.s.CalendarChanged("alice@example.com")
	h.waitIdle()
	if got = h.rec.since(n); len(got) != 1 || got[0].Current.Availability != Unknown {
		t.Fatalf("after losing trust: %+v", got)
	}
	n += len(got)

	// A change that does not alter the presence publishes nothing.
	h.s.CalendarChanged("alice@example.com")
	h.waitIdle()
	if got = h.rec.since(n); len(got) != 0 {
		t.Fatalf("no-op re-plan published %+v", got)
	}

	// A new user appears through CalendarChanged.
	src.set("carol@example.com", nil, calendar.OOFSettings{State: calendar.OOFEnabled}, true)
	h.s.CalendarChanged("carol@example.com")
	h.waitIdle()
	if p, ok := h.s.Current("carol@example.com"); !ok || p.Availability != OutOfOffice || p.Why.Source != "automatic_replies" {
		t.Errorf("carol = %+v %v, want out of office by automatic replies", p, ok)
	}
	if all := h.s.All(); len(all) != 2 || all[0].User != "alice@example.com" || all[1].User != "carol@example.com" {
		t.Errorf("All = %+v", all)
	}
	// A user the source no longer knows is dropped.
	src.mu.Lock()
	delete(src.users, "carol@example.com")
	src.mu.Unlock()
	h.s.CalendarChanged("carol@example.com")
	h.waitIdle()
	if _, ok := h.s.Current("carol@example.com"); ok {
		t.Error("carol is still planned after the source dropped her")
	}
}

// TestRemovedUserStaysRemoved: a change reported for a user after
// RemoveUser (the engine's retiring worker reporting late, while the source
// still holds its data) does not plan the user again; AddUser does.
func TestRemovedUserStaysRemoved(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	src.set("alice@example.com", nil, calendar.OOFSettings{}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	if _, ok := h.s.Current("alice@example.com"); !ok {
		t.Fatal("alice is not planned at start")
	}
	h.s.RemoveUser("alice@example.com")
	h.s.CalendarChanged("alice@example.com")
	h.waitIdle()
	if p, ok := h.s.Current("alice@example.com"); ok {
		t.Fatalf("a late change planned the removed alice again: %+v", p)
	}
	h.s.AddUser("alice@example.com")
	h.waitIdle()
	if p, ok := h.s.Current("alice@example.com"); !ok || p.Availability != Available {
		t.Fatalf("alice after AddUser = %+v %v, want available", p, ok)
	}
}

func TestSchedulerRestartEmitsOnlyRealChanges(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 09:30"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 09:00", "2025-11-24 10:00", meeting)}, calendar.OOFSettings{}, true)
	src.set("bob@example.com", nil, calendar.OOFSettings{}, true)
	src.set("carol@example.com", nil, calendar.OOFSettings{}, true)
	st := &mapPresenceStore{}
	rules := mustCompile(t, RuleSet{})

	h1 := startScheduler(t, c, src, st, rules)
	if got := h1.rec.all(); len(got) != 3 {
		t.Fatalf("first start published %d changes, want 3", len(got))
	}
	if _, err := h1.s.SetOverride(context.Background(), "carol@example.com", Override{Availability: Busy, StatusText: "Focus", Until: at("2025-11-24 12:00")}); err != nil {
		t.Fatal(err)
	}
	// An override that publishes nothing new is still saved.
	if _, err := h1.s.SetOverride(context.Background(), "bob@example.com", Override{Availability: Available, Profile: "available", Until: at("2025-11-24 10:00")}); err != nil {
		t.Fatal(err)
	}
	h1.waitIdle()
	if got := h1.rec.all(); len(got) != 4 {
		t.Fatalf("changes after two overrides = %d, want 4 (bob's changes nothing)", len(got))
	}
	h1.stop()

	// Restart at the same instant with the same data: nothing to emit.
	h2 := startScheduler(t, c, src, st, rules)
	if got := h2.rec.all(); len(got) != 0 {
		t.Fatalf("restart without changes published %+v", got)
	}
	if p, _ := h2.s.Current("carol@example.com"); p.Why.Source != "override" || p.StatusText != "Focus" {
		t.Errorf("override lost across restart: %+v", p)
	}
	if p, _ := h2.s.Current("bob@example.com"); p.Why.Source != "override" {
		t.Errorf("bob's silent override lost across restart: %+v", p)
	}
	h2.stop()

	// Down across alice's transition, and bob got a meeting meanwhile.
	c.Set(at("2025-11-24 10:15"))
	src.set("bob@example.com", []calendar.Occurrence{occ("x", "2025-11-24 10:00", "2025-11-24 11:00", meeting)}, calendar.OOFSettings{}, true)
	h3 := startScheduler(t, c, src, st, rules)
	got := h3.rec.all()
	byUser := map[string]Change{}
	for _, ch := range got {
		byUser[ch.User] = ch
	}
	if len(got) != 2 || byUser["alice@example.com"].Current.Availability != Available || byUser["bob@example.com"].Current.Availability != Busy {
		t.Fatalf("restart after changes published %+v, want alice available and bob busy only", got)
	}
	if prev := byUser["alice@example.com"].Previous; prev == nil || prev.Availability != Busy {
		t.Errorf("alice's change lacks the stored previous presence: %+v", prev)
	}
}

func TestSchedulerOverrides(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 09:00", "2025-11-24 10:00", meeting)}, calendar.OOFSettings{}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	ctx := context.Background()
	n := len(h.rec.all())

	if _, err := h.s.SetOverride(ctx, "nobody@example.com", Override{Availability: Busy}); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("override of unknown user: %v, want ErrUnknownUser", err)
	}
	if _, err := h.s.SetOverride(ctx, "alice@example.com", Override{Availability: "sleepy"}); err == nil {
		t.Error("override with a bad availability accepted")
	}
	if _, err := h.s.SetOverride(ctx, "alice@example.com", Override{Availability: Busy, Until: at("2025-11-24 07:00")}); err == nil {
		t.Error("override ending in the past accepted")
	}

	// Until the next calendar transition (09:00).
	p, err := h.s.SetOverride(ctx, "alice@example.com", Override{Availability: "dnd_is_not_valid"})
	if err == nil {
		t.Fatalf("invalid override accepted: %+v", p)
	}
	p, err = h.s.SetOverride(ctx, "alice@example.com", Override{Availability: Busy, StatusText: "Do not disturb until {{until}}"})
	if err != nil || p.Availability != Busy || p.StatusText != "Do not disturb until 09:00" || p.Why.Source != "override" {
		t.Fatalf("SetOverride = %+v, %v", p, err)
	}
	h.waitIdle()
	if got := h.rec.since(n); len(got) != 1 || got[0].Current.Why.Source != "override" {
		t.Fatalf("override published %+v", got)
	}
	n++
	h.advanceTo("2025-11-24 09:00")
	if got := h.rec.since(n); len(got) != 1 || got[0].Current.Why.Source != "calendar" || got[0].Current.StatusText != "In a meeting until 10:00" {
		t.Fatalf("calendar did not take over at the next transition: %+v", got)
	}

	// Until a fixed time, beating the meeting.
	p, err = h.s.SetOverride(ctx, "alice@example.com", Override{Availability: Available, Until: at("2025-11-24 09:45")})
	if err != nil || p.Availability != Available {
		t.Fatalf("SetOverride until X = %+v, %v", p, err)
	}
	h.waitIdle()
	n = len(h.rec.all())
	h.advanceTo("2025-11-24 09:45")
	if got := h.rec.since(n); len(got) != 1 || got[0].Current.Availability != Busy {
		t.Fatalf("meeting did not resume at the override's end: %+v", got)
	}
	n++

	// Clearing returns to the calendar at once.
	if _, err := h.s.SetOverride(ctx, "alice@example.com", Override{Availability: OutOfOffice}); err != nil {
		t.Fatal(err)
	}
	h.waitIdle()
	p, err = h.s.ClearOverride(ctx, "alice@example.com")
	if err != nil || p.Availability != Busy || p.Why.Source != "calendar" {
		t.Fatalf("ClearOverride = %+v, %v", p, err)
	}
	h.waitIdle()
	got := h.rec.since(n)
	if len(got) != 2 || got[0].Current.Availability != OutOfOffice || got[1].Current.Availability != Busy {
		t.Fatalf("set+clear published %+v", got)
	}
}

func TestSchedulerUpdateRulesAndLoadErrors(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 09:30"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 09:00", "2025-11-24 10:00", meeting)}, calendar.OOFSettings{}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	n := len(h.rec.all())

	h.s.UpdateRules(mustCompile(t, RuleSet{Options: Options{Language: "de"}}))
	h.waitIdle()
	if got := h.rec.since(n); len(got) != 1 || got[0].Current.StatusText != "In einer Besprechung bis 10:00" {
		t.Fatalf("after UpdateRules: %+v", got)
	}
	n++

	// A failing load keeps the previous plan and retries after RetryDelay.
	src.mu.Lock()
	src.fail["alice@example.com"] = errors.New("store unavailable")
	src.mu.Unlock()
	h.s.CalendarChanged("alice@example.com")
	h.waitIdle()
	if p, _ := h.s.Current("alice@example.com"); p.Availability != Busy {
		t.Errorf("plan lost after a failed load: %+v", p)
	}
	loads := src.loadCount()
	src.mu.Lock()
	delete(src.fail, "alice@example.com")
	src.mu.Unlock()
	h.clock.Advance(30 * time.Second)
	h.waitIdle()
	if src.loadCount() != loads+1 {
		t.Errorf("loads = %d, want a retry (%d)", src.loadCount(), loads+1)
	}
	if got := h.rec.since(n); len(got) != 0 {
		t.Errorf("retry published %+v", got)
	}
}

func TestSchedulerDryRun(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 09:00", "2025-11-24 10:00", meeting, cats("Focus"))}, calendar.OOFSettings{}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	proposed, err := ParseRulesJSON([]byte(`[{"name":"focus","match":{"categories":["focus"]},"profile":"dnd","status_text":"Focus until {{until}}"}]`))
	if err != nil {
		t.Fatal(err)
	}
	segs, err := h.s.DryRun(context.Background(), "alice@example.com", proposed, at("2025-11-24 08:00"), at("2025-11-25 00:00"))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 3 || segs[1].StatusText != "Focus until 10:00" || segs[1].Why.Rule != "focus" {
		t.Errorf("dry run = %+v", segs)
	}
	// The rules in force are unchanged.
	segs, _ = h.s.DryRun(context.Background(), "alice@example.com", nil, at("2025-11-24 08:00"), at("2025-11-25 00:00"))
	if len(segs) != 3 || segs[1].StatusText != "In a meeting until 10:00" {
		t.Errorf("dry run with current rules = %+v", segs)
	}
	if _, err := h.s.DryRun(context.Background(), "nobody@example.com", nil, at("2025-11-24 08:00"), at("2025-11-25 00:00")); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("dry run of an unknown user: %v, want ErrUnknownUser", err)
	}
	if _, err := h.s.DryRun(context.Background(), "alice@example.com", nil, at("2025-11-25 00:00"), at("2025-11-24 08:00")); err == nil {
		t.Error("dry run with an inverted range succeeded")
	}
	if _, err := ParseRulesJSON([]byte(`[{"name":"x","profile":"p","match":{"subjekt":"a"}}]`)); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("unknown key: %v, want ErrInvalidRule", err)
	}
	if _, err := ParseRulesJSON([]byte(`{"merge_gap_minutes":5,"rules":[{"name":"x","match":{"subject":"("},"profile":"p"}]}`)); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("bad regex: %v, want ErrInvalidRule", err)
	}
}

// TestSchedulerIdleDoesNoWork plans 10,000 users with one timer and shows
// that time passing without transitions loads and publishes nothing.
func TestSchedulerIdleDoesNoWork(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	const users = 10000
	for i := range users {
		start := at("2025-11-25 08:00").Add(time.Duration(i%480) * time.Minute)
		o := calendar.Occurrence{ItemID: fmt.Sprint("m", i), Start: start, End: start.Add(30 * time.Minute), FreeBusy: calendar.Busy, IsMeeting: true, Response: calendar.ResponseAccept}
		src.set(fmt.Sprintf("user%05d@example.com", i), []calendar.Occurrence{o}, calendar.OOFSettings{}, true)
	}
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	if n := len(h.rec.all()); n != users {
		t.Fatalf("initial changes = %d, want %d", n, users)
	}
	if n := c.PendingTimers(); n != 1 {
		t.Fatalf("pending timers = %d, want 1 for %d users", n, users)
	}
	loads := src.loadCount()
	for range 12 {
		h.clock.Advance(time.Hour) // 08:00 -> 20:00, no transitions
		h.waitIdle()
	}
	if got := len(h.rec.all()); got != users {
		t.Errorf("idle hours published %d changes", got-users)
	}
	if src.loadCount() != loads {
		t.Errorf("idle hours loaded %d calendars", src.loadCount()-loads)
	}
	// The first transitions of the next morning still fire.
	h.advanceTo("2025-11-25 08:00")
	if got := h.rec.since(users); len(got) != users/480+1 {
		t.Errorf("08:00 transitions = %d, want %d", len(got), users/480+1)
	}
}

// TestSchedulerRunsForDays walks a week of daily meetings through the
// scheduler: plans are compacted to about a day and a half, so this
// exercises the periodic reloads between transitions.
func TestSchedulerRunsForDays(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	var o []calendar.Occurrence
	for d := range 7 {
		day := at("2025-11-24 00:00").AddDate(0, 0, d).Format("2006-01-02")
		o = append(o, occ(fmt.Sprint("m", d), day+" 09:00", day+" 10:00", meeting))
	}
	src.set("alice@example.com", o, calendar.OOFSettings{}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	n := len(h.rec.all())
	for d := range 7 {
		day := at("2025-11-24 00:00").AddDate(0, 0, d).Format("2006-01-02")
		// Step through the day in hours, so that reloads happen in between.
		for _, hm := range []string{"06:00", "09:00", "09:30", "10:00", "18:00"} {
			h.advanceTo(day + " " + hm)
		}
		got := h.rec.since(n)
		if len(got) != 2 || got[0].Current.Availability != Busy || !got[0].At.Equal(at(day+" 09:00")) ||
			got[1].Current.Availability != Available || !got[1].At.Equal(at(day+" 10:00")) {
			t.Fatalf("day %s: changes %+v, want busy at 09:00 and available at 10:00", day, got)
		}
		n += 2
	}
	if loads := src.loadCount(); loads < 4 || loads > 10 {
		t.Errorf("loads over a week = %d, want about one a day", loads)
	}
}

// failingStore loses every save, as if the process died between
// publishing a change and recording it.
type failingStore struct{ mapPresenceStore }

func (f *failingStore) SavePresence(context.Context, string, []byte) error {
	return errors.New("disk full")
}

func (f *failingStore) SavePresences(context.Context, map[string][]byte) error {
	return errors.New("disk full")
}

func TestSchedulerPublishesAtLeastOnce(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 09:30"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 09:00", "2025-11-24 10:00", meeting)}, calendar.OOFSettings{}, true)
	st := &mapPresenceStore{}
	rules := mustCompile(t, RuleSet{})
	h1 := startScheduler(t, c, src, st, rules)
	h1.stop()

	// The 10:00 transition is published but its record is lost.
	lossy := &failingStore{}
	lossy.docs = st.docs
	h2 := startScheduler(t, c, src, lossy, rules)
	h2.advanceTo("2025-11-24 10:00")
	if got := h2.rec.all(); len(got) != 1 || got[0].Current.Availability != Available {
		t.Fatalf("transition = %+v", got)
	}
	h2.stop()

	// After the restart the change is published again rather than lost.
	h3 := startScheduler(t, c, src, st, rules)
	if got := h3.rec.all(); len(got) != 1 || got[0].Current.Availability != Available || got[0].Previous.Availability != Busy {
		t.Fatalf("after restart = %+v, want the unrecorded change again", got)
	}
}

func TestSchedulerAutomaticRepliesWindow(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 13:00", "2025-11-24 15:00", meeting)},
		calendar.OOFSettings{State: calendar.OOFScheduled, Start: at("2025-11-24 12:00"), End: at("2025-11-24 14:00")}, true)
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{Options: Options{Language: "de"}}))
	n := len(h.rec.all())
	steps := []struct {
		at    string
		avail Availability
		text  string
	}{
		{"2025-11-24 12:00", OutOfOffice, "Abwesend bis 14:00"},
		{"2025-11-24 14:00", Busy, "In einer Besprechung bis 15:00"},
		{"2025-11-24 15:00", Available, ""},
	}
	for _, st := range steps {
		h.advanceTo(st.at)
		got := h.rec.since(n)
		if len(got) != 1 || got[0].Current.Availability != st.avail || got[0].Current.StatusText != st.text || !got[0].At.Equal(at(st.at)) {
			t.Fatalf("at %s: %+v, want %s %q", st.at, got, st.avail, st.text)
		}
		n++
	}
}

func TestSchedulerCalendarChangedBeforeRunKeepsStoredPresence(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 09:30"))
	src := newFakeSource()
	src.set("alice@example.com", []calendar.Occurrence{occ("m", "2025-11-24 09:00", "2025-11-24 10:00", meeting)}, calendar.OOFSettings{}, true)
	st := &mapPresenceStore{}
	rules := mustCompile(t, RuleSet{})
	startScheduler(t, c, src, st, rules).stop()

	rec := &recorder{}
	s, err := NewScheduler(SchedulerOptions{Clock: c, Rules: rules, Source: src, Store: st, Publish: rec.publish})
	if err != nil {
		t.Fatal(err)
	}
	// The engine reports a commit before the scheduler runs.
	s.CalendarChanged("alice@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.WaitFor(t, "scheduler idle", s.idle)
	if got := rec.all(); len(got) != 0 {
		t.Errorf("restart published %+v although nothing changed", got)
	}
}

// TestSchedulerConcurrentUse exercises the public methods from several
// goroutines while transitions fire (meaningful under -race).
func TestSchedulerConcurrentUse(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	users := []string{"a@example.com", "b@example.com", "c@example.com"}
	for i, u := range users {
		src.set(u, []calendar.Occurrence{occ(fmt.Sprint("m", i), "2025-11-24 09:00", "2025-11-24 10:00", meeting)}, calendar.OOFSettings{}, true)
	}
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				switch n % 5 {
				case 0:
					h.s.CalendarChanged(u)
				case 1:
					h.s.Current(u)
				case 2:
					h.s.All()
				case 3:
					if i == 0 {
						h.s.SetOverride(ctx, u, Override{Availability: Busy})
					}
				case 4:
					if i == 0 {
						h.s.ClearOverride(ctx, u)
					}
				}
			}
		}()
	}
	for m := 0; m < 240; m += 5 {
		c.Advance(5 * time.Minute)
	}
	close(stop)
	wg.Wait()
	h.waitIdle()
	for _, u := range users[1:] {
		if p, ok := h.s.Current(u); !ok || p.Availability != Available || p.Why.Source != "free" {
			t.Errorf("%s at 12:00 = %+v", u, p)
		}
	}
}
