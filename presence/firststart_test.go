package presence

import (
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// A fresh start publishes each user's first real state once: users whose
// first load is still running get no interim "unknown" change, and a user
// whose first load failed does get it.
func TestSchedulerFirstStartPublishesOneChangePerUser(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	src.set("alice@example.com", nil, calendar.OOFSettings{}, false)
	src.set("bob@example.com", nil, calendar.OOFSettings{}, false)
	src.set("carol@example.com", nil, calendar.OOFSettings{}, false)
	src.mu.Lock()
	src.users["alice@example.com"].Pending = true
	src.users["bob@example.com"].Pending = true
	// carol's first load failed: not pending, unknown is her real state.
	src.mu.Unlock()
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))

	got := h.rec.all()
	if len(got) != 1 || got[0].User != "carol@example.com" || got[0].Current.Availability != Unknown {
		t.Fatalf("changes before the first loads = %+v, want only carol's unknown", got)
	}
	if p, ok := h.s.Current("alice@example.com"); !ok || p.Availability != Unknown {
		t.Errorf("alice's current presence = %+v, want unknown (answered, not published)", p)
	}

	// alice's first load completes with a meeting, bob's as free.
	src.set("alice@example.com", []calendar.Occurrence{occ("a", "2025-11-24 07:30", "2025-11-24 09:00", meeting)}, calendar.OOFSettings{}, true)
	src.set("bob@example.com", nil, calendar.OOFSettings{}, true)
	h.s.CalendarChanged("alice@example.com")
	h.s.CalendarChanged("bob@example.com")
	h.waitIdle()

	byUser := map[string][]Change{}
	for _, ch := range h.rec.all() {
		byUser[ch.User] = append(byUser[ch.User], ch)
	}
	if a := byUser["alice@example.com"]; len(a) != 1 || a[0].Current.Availability != Busy || a[0].Previous != nil {
		t.Errorf("alice's changes = %+v, want one: busy without a previous presence", a)
	}
	if b := byUser["bob@example.com"]; len(b) != 1 || b[0].Current.Availability != Available || b[0].Previous != nil {
		t.Errorf("bob's changes = %+v, want one: available without a previous presence", b)
	}
}

// An override on a user whose first load is still running is published:
// it is a real state.
func TestSchedulerOverrideOnPendingUserIsPublished(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	src.set("alice@example.com", nil, calendar.OOFSettings{}, false)
	src.mu.Lock()
	src.users["alice@example.com"].Pending = true
	src.mu.Unlock()
	h := startScheduler(t, c, src, &mapPresenceStore{}, mustCompile(t, RuleSet{}))
	if _, err := h.s.SetOverride(t.Context(), "alice@example.com", Override{Availability: Busy, Until: at("2025-11-24 09:00")}); err != nil {
		t.Fatal(err)
	}
	h.waitIdle()
	if got := h.rec.all(); len(got) != 1 || got[0].Current.Availability != Busy {
		t.Errorf("changes = %+v, want the override published", got)
	}
}

// Since is absent when the block began before the loaded range (a user
// free all along), and set when it is known (free since a meeting ended).
func TestSinceIsAbsentWhenNotKnown(t *testing.T) {
	rules := mustCompile(t, RuleSet{})
	now := at("2025-11-24 12:00")
	win := calendar.Window{Start: now.Add(-24 * time.Hour), End: now.Add(7 * 24 * time.Hour)}
	free := Evaluate(Input{User: "u", Trusted: true, Location: berlin, Window: win}, rules, now)
	if !free.Since.IsZero() {
		t.Errorf("since of a user free all along = %s, want absent", free.Since)
	}
	after := Evaluate(Input{User: "u", Trusted: true, Location: berlin, Window: win,
		Occurrences: []calendar.Occurrence{occ("m", "2025-11-24 10:00", "2025-11-24 11:00", meeting)}}, rules, now)
	if !after.Since.Equal(at("2025-11-24 11:00")) {
		t.Errorf("since after a meeting = %s, want its end", after.Since)
	}
	unknown := Evaluate(Input{User: "u", Window: win}, rules, now)
	if !unknown.Since.IsZero() {
		t.Errorf("since of unknown = %s, want absent", unknown.Since)
	}
}

// The status text is rendered in the mailbox's zone, which the presence
// names; without a mailbox zone the rule set's time_zone applies.
func TestPresenceNamesTheZoneItRendersIn(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	rules := mustCompile(t, RuleSet{Options: Options{TimeZone: "Europe/Berlin"}})
	now := time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC) // 09:00 in New York (EDT since 8 March)
	m := occ("m", "2026-03-09 13:00", "2026-03-09 14:00", meeting)
	m.Start, m.End = now.Add(-time.Hour), now.Add(6*time.Hour) // 08:00–15:00 in New York
	in := Input{User: "u", Trusted: true, Location: ny, Occurrences: []calendar.Occurrence{m}}
	p := Evaluate(in, rules, now)
	if p.TimeZone != "America/New_York" || p.StatusText != "In a meeting until 15:00" {
		t.Errorf("New York mailbox: zone %q text %q, want America/New_York and until 15:00", p.TimeZone, p.StatusText)
	}
	in.Location = nil
	p = Evaluate(in, rules, now)
	if p.TimeZone != "Europe/Berlin" || p.StatusText != "In a meeting until 20:00" {
		t.Errorf("no mailbox zone: zone %q text %q, want the rule set's Europe/Berlin and until 20:00", p.TimeZone, p.StatusText)
	}
}

// StoreSource marks a user pending only while the first load runs without
// failure: no record, or a status still discovering/loading without errors.
func TestStoreSourcePendingOnlyWhileTheFirstLoadRuns(t *testing.T) {
	ctx := t.Context()
	ms := memstore.New()
	defer ms.Close()
	now := at("2025-11-24 09:30")
	save := func(st store.MailboxStatus) {
		t.Helper()
		if err := ms.SaveStatus(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	save(store.MailboxStatus{SMTP: "loading@example.com", State: "loading"})
	save(store.MailboxStatus{SMTP: "failing@example.com", State: "backoff", ConsecutiveFailures: 1,
		LastError: &store.SyncError{Code: "ErrorMailboxMoveInProgress", At: now}})
	save(store.MailboxStatus{SMTP: "denied@example.com", State: "denied"})
	save(store.MailboxStatus{SMTP: "loaded@example.com", State: "live"})
	if err := ms.CommitWindow(ctx, "loaded@example.com", store.WindowCommit{Checkpoint: store.Checkpoint{
		Window: calendar.Window{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}, LoadedAt: now}}); err != nil {
		t.Fatal(err)
	}
	src := &StoreSource{Store: ms}
	for user, want := range map[string]bool{"new@example.com": true, "loading@example.com": true,
		"failing@example.com": false, "denied@example.com": false, "loaded@example.com": false} {
		in, err := src.Load(ctx, user, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if in.Pending != want {
			t.Errorf("%s: pending = %v, want %v", user, in.Pending, want)
		}
	}
}

// A mailbox without a zone of its own is evaluated in StoreSource's
// DefaultZone; one with a zone in its own.
func TestStoreSourceDefaultZone(t *testing.T) {
	ctx := t.Context()
	ms := memstore.New()
	defer ms.Close()
	now := at("2025-11-24 09:30")
	for user, zone := range map[string]string{"own@example.com": "America/New_York", "none@example.com": ""} {
		if err := ms.SaveStatus(ctx, store.MailboxStatus{SMTP: user, State: "live", TimeZone: zone}); err != nil {
			t.Fatal(err)
		}
	}
	src := &StoreSource{Store: ms, DefaultZone: "Europe/Berlin"}
	for user, want := range map[string]string{"own@example.com": "America/New_York", "none@example.com": "Europe/Berlin"} {
		in, err := src.Load(ctx, user, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil || in.Location == nil || in.Location.String() != want {
			t.Errorf("%s: location %v (%v), want %s", user, in.Location, err, want)
		}
	}
}
