package boltstore_test

import (
	"bytes"
	"errors"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/storetest"
)

var statusStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func statusCommit(smtp string, st *store.MailboxStatus) store.WindowCommit {
	return store.WindowCommit{Occurrences: storetest.SampleOccurrences(smtp, 30, statusStart, 0), Status: st,
		Checkpoint: store.Checkpoint{Window: calendar.Window{Start: statusStart, End: statusStart.Add(15 * 24 * time.Hour)}, SyncState: "s1"}}
}

// A status written alone — a state change, the stop's batch — leaves the
// page of the mailbox's bucket (record and window) as it was: bolt copies
// every page it changes, so the same page number is the same page. Before
// schema 4 each rewrote that page, window included.
func TestStatusAloneLeavesTheWindowPageAlone(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "calsync.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const smtp = "alice@example.com"
	if err := s.CommitWindow(t.Context(), smtp, statusCommit(smtp, &store.MailboxStatus{SMTP: smtp, State: "live"})); err != nil {
		t.Fatal(err)
	}
	page, entry, err := boltstore.MailboxPage(s, smtp)
	if err != nil || page == 0 || entry != nil {
		t.Fatalf("after the first commit: page %d, status entry %v, %v; want the window on a page of its own and no entry", page, entry, err)
	}
	writes := []struct {
		name  string
		write func() error
	}{
		{"SaveStatus", func() error { return s.SaveStatus(t.Context(), store.MailboxStatus{SMTP: smtp, State: "backoff"}) }},
		{"SaveStatuses", func() error {
			return s.SaveStatuses(t.Context(), []store.MailboxStatus{{SMTP: smtp, State: "stopped"}, {SMTP: "new@example.com", State: "stopped"}})
		}},
	}
	for _, w := range writes {
		if err := w.write(); err != nil {
			t.Fatal(err)
		}
		if got, entry, err := boltstore.MailboxPage(s, smtp); err != nil || got != page || entry == nil {
			t.Errorf("after %s the mailbox's bucket is on page %d (was %d), status entry %s, %v; want the same page and the status in \"statuses\"", w.name, got, page, entry, err)
		}
	}
	rec, err := s.Mailbox(t.Context(), smtp)
	if err != nil || rec.Status.State != "stopped" || rec.Checkpoint.SyncState != "s1" {
		t.Errorf("Mailbox = %+v, %v; want the stopped status and the commit's checkpoint", rec, err)
	}
	// A window commit with a status writes it into the record and leaves
	// "statuses" as it was (a second path of the tree written otherwise).
	_, stopped, err := boltstore.MailboxPage(s, smtp)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CommitWindow(t.Context(), smtp, statusCommit(smtp, &store.MailboxStatus{SMTP: smtp, State: "live"})); err != nil {
		t.Fatal(err)
	}
	if _, entry, err := boltstore.MailboxPage(s, smtp); err != nil || !bytes.Equal(entry, stopped) {
		t.Errorf("a commit with a status changed the entry in \"statuses\": %s, was %s (%v)", entry, stopped, err)
	}
	if rec, err := s.Mailbox(t.Context(), smtp); err != nil || rec.Status.State != "live" {
		t.Errorf("after a commit with a status Mailbox = %+v, %v; want the commit's status", rec.Status, err)
	}
}

// Whichever status was written last is the mailbox's — by a commit that
// carries one or alone — across a reopen; a commit without one keeps the
// status written alone; a deleted mailbox's status is gone with it.
func TestTheLastWrittenStatusIsTheMailboxs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calsync.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ctx := t.Context()
	state := func(smtp string) string {
		t.Helper()
		rec, err := s.Mailbox(ctx, smtp)
		if err != nil {
			t.Fatalf("Mailbox %s: %v", smtp, err)
		}
		return rec.Status.State
	}
	listed := func() map[string]string {
		t.Helper()
		recs, err := s.Mailboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range recs {
			out[r.Status.SMTP] = r.Status.State
		}
		return out
	}
	reopen := func() {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s, err = boltstore.Open(path, boltstore.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := "a@example.com", "b@example.com", "c@example.com"
	for _, smtp := range []string{a, b} {
		if err := s.CommitWindow(ctx, smtp, statusCommit(smtp, &store.MailboxStatus{SMTP: smtp, State: "live"})); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveStatus(ctx, store.MailboxStatus{SMTP: c, State: "discovering"}); err != nil { // no bucket yet
		t.Fatal(err)
	}
	if err := s.SaveStatuses(ctx, []store.MailboxStatus{{SMTP: a, State: "stopped"}, {SMTP: b, State: "stopped"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitWindow(ctx, a, statusCommit(a, nil)); err != nil {
		t.Fatal(err)
	}
	if got := state(a); got != "stopped" {
		t.Errorf("after a commit without a status: %q, want the status written alone before it", got)
	}
	reopen()
	if got, want := listed(), map[string]string{a: "stopped", b: "stopped", c: "discovering"}; !maps.Equal(got, want) {
		t.Errorf("Mailboxes after the stop and a reopen: %v, want %v", got, want)
	}
	if err := s.CommitWindow(ctx, b, statusCommit(b, &store.MailboxStatus{SMTP: b, State: "live"})); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveStatus(ctx, store.MailboxStatus{SMTP: c, State: "denied"}); err != nil {
		t.Fatal(err)
	}
	reopen()
	if got, want := listed(), map[string]string{a: "stopped", b: "live", c: "denied"}; !maps.Equal(got, want) {
		t.Errorf("Mailboxes after a commit with a status and a reopen: %v, want %v", got, want)
	}
	// Alone, with a commit, alone again, a commit without one: the last written.
	if err := s.SaveStatus(ctx, store.MailboxStatus{SMTP: b, State: "backoff"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitWindow(ctx, b, statusCommit(b, nil)); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitWindow(ctx, c, statusCommit(c, &store.MailboxStatus{SMTP: c, State: "live"})); err != nil {
		t.Fatal(err)
	}
	if got, want := listed(), map[string]string{a: "stopped", b: "backoff", c: "live"}; !maps.Equal(got, want) {
		t.Errorf("Mailboxes after more writes: %v, want %v", got, want)
	}
	if err := s.DeleteMailbox(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mailbox(ctx, a); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Mailbox of a deleted mailbox: %v, want ErrNotFound", err)
	}
	if err := s.SaveCheckpoint(ctx, a, store.Checkpoint{SyncState: "again"}); err != nil {
		t.Fatal(err)
	}
	if got := state(a); got != "" {
		t.Errorf("a mailbox created again after its delete has the state %q of before; want none", got)
	}
}
