package presence

import (
	"context"
	"testing"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

func TestStoreSourceWithScheduler(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	defer ms.Close()
	now := at("2025-11-24 09:30")
	win := calendar.Window{Start: at("2025-11-20 00:00"), End: at("2025-12-20 00:00")}
	commit := func(user string, occ ...calendar.Occurrence) {
		t.Helper()
		if err := ms.CommitWindow(ctx, user, store.WindowCommit{Occurrences: occ, Checkpoint: store.Checkpoint{Window: win, LoadedAt: now}}); err != nil {
			t.Fatal(err)
		}
	}
	commit("alice@example.com", occ("m", "2025-11-24 09:00", "2025-11-24 10:00", meeting))
	if err := ms.SaveStatus(ctx, store.MailboxStatus{SMTP: "alice@example.com", State: "live", TimeZone: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	commit("bob@example.com")
	if err := ms.SaveStatus(ctx, store.MailboxStatus{SMTP: "bob@example.com", State: "denied"}); err != nil {
		t.Fatal(err)
	}
	if err := ms.SaveOOF(ctx, "carol@example.com", calendar.OOFSettings{State: calendar.OOFEnabled}); err != nil {
		t.Fatal(err)
	}

	src := &StoreSource{Store: ms, UserSettings: func(user string) (string, string) {
		if user == "alice@example.com" {
			return "", "de"
		}
		return "", ""
	}}
	c := clock.NewFake(now)
	rec := &recorder{}
	s, err := NewScheduler(SchedulerOptions{Clock: c, Rules: mustCompile(t, RuleSet{}), Source: src, Store: ms, Publish: rec.publish})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.WaitFor(t, "scheduler idle", s.idle)

	want := map[string]struct {
		avail Availability
		text  string
	}{
		// Rendered in alice's mailbox zone (New York) and language.
		"alice@example.com": {Busy, "In einer Besprechung bis 04:00"},
		"bob@example.com":   {Unknown, ""},
		// carol's window was never loaded: unknown, even with OOF on; her
		// first load is still running, so that is not published.
		"carol@example.com": {Unknown, ""},
	}
	for user, w := range want {
		p, ok := s.Current(user)
		if !ok || p.Availability != w.avail || p.StatusText != w.text {
			t.Errorf("%s = %s %q (ok %v), want %s %q", user, p.Availability, p.StatusText, ok, w.avail, w.text)
		}
	}
	docs, err := ms.LoadPresence(ctx)
	if _, ok := docs["carol@example.com"]; err != nil || len(docs) != 2 || ok {
		t.Fatalf("stored presence docs = %d (%v), want alice's and bob's", len(docs), err)
	}
	if len(rec.all()) != 2 {
		t.Errorf("published %d changes, want 2 (none for carol, still loading)", len(rec.all()))
	}
}
