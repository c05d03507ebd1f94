package boltstore_test

import (
	"context"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/storetest"
)

// testdata/schema1.db is a store file written by calsync's boltstore at
// schema version 1 (one bolt key per occurrence), main 1b57256, by
// fillSchema1: part 0 through a store opened with the binary encoding,
// then part 1 through one opened with the JSON encoding (a file may hold
// both). The upgrade test feeds the same calls to memstore and compares
// what both return, so this function must not change: it describes what
// the file holds. testdata/schema2.db holds the same calls written at
// schema version 2 (each window in a bucket of its own in "windows"),
// main b49ad17, the same way: part 0 through a store opened with the
// binary encoding, then part 1 with the JSON encoding, each store closed.
// testdata/schema3.db holds the same calls written at schema version 3
// (each window in its mailbox's bucket, the status in the record), main
// 525202b, the same way. testdata/schema3-upgrading-from-2.db and
// schema3-upgrading-from-1.db are schema2.db and schema1.db after the
// first step (one mailbox) of main 525202b's upgrade to schema 3
// (boltstore.UpgradeOneStep with a budget of 1 byte): what calsync of
// schema 3 leaves when it is killed during that upgrade.

// schema1Start is the start of the fixture's windows.
var schema1Start = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// schema1Window is the window every fixture mailbox was committed with.
var schema1Window = calendar.Window{Start: schema1Start, End: schema1Start.Add(15 * 24 * time.Hour)}

// schema1Mailboxes are the mailboxes the fixture leaves in the file.
var schema1Mailboxes = []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "erin@example.com"}

// fillSchema1 writes part 0 (binary encoding) or part 1 (JSON encoding)
// of the fixture into st.
func fillSchema1(ctx context.Context, st store.Store, part int) error {
	cp := func(state string) store.Checkpoint {
		return store.Checkpoint{Window: schema1Window, SyncState: state, SubscriptionID: "sub-" + state,
			NotificationMode: "streaming", LoadedAt: schema1Start.Add(time.Hour)}
	}
	at := func(h float64) time.Time { return schema1Start.Add(time.Duration(h * float64(time.Hour))) }
	if part == 1 {
		// bob: JSON values, every field set, an occurrence across the window's start.
		occs := storetest.SampleOccurrences("bob@example.com", 6, schema1Start, 2)
		occs[0].Start, occs[0].End = at(-3), at(2)
		occs[1].Categories = []string{"Red", "Grün ✓"}
		occs[2].AllDay, occs[2].Cancelled = true, true
		return st.CommitWindow(ctx, "bob@example.com", store.WindowCommit{Occurrences: occs, Checkpoint: cp("bob")})
	}
	// alice: 40 ordinary items and the unusual ones.
	occs := storetest.SampleOccurrences("alice@example.com", 40, schema1Start, 1)
	master := "AAMkMasterSeries="
	occs = append(occs,
		calendar.Occurrence{ItemID: "allday", Kind: calendar.KindException, MasterID: master, Subject: "Offsite – Zürich",
			Start: at(48), End: at(72), AllDay: true, TimeZone: "Europe/Zurich", FreeBusy: calendar.OutOfOffice, Sensitivity: calendar.Private},
		calendar.Occurrence{ItemID: "zero", Subject: "reminder", Start: at(10), End: at(10)},
		calendar.Occurrence{ItemID: "long", Subject: "conference", Start: at(30), End: at(30 + 24*6), Categories: []string{"Travel"}},
		calendar.Occurrence{ItemID: "same-start", Subject: "a second item at 10:00", Start: at(10), End: at(11)},
		calendar.Occurrence{ItemID: "early", Start: at(-48), End: at(1), Cancelled: true},
		calendar.Occurrence{ItemID: "outside", Start: at(-48), End: at(-24)}, // not stored: outside the window
	)
	if err := st.CommitWindow(ctx, "alice@example.com", store.WindowCommit{Occurrences: occs, Checkpoint: cp("alice")}); err != nil {
		return err
	}
	if err := st.SaveStatus(ctx, store.MailboxStatus{SMTP: "alice@example.com", State: "subscribed", Group: "EXCH01",
		Connection: "stream-1", TimeZone: "Europe/Berlin", LastVerified: at(1), Occurrences: 45}); err != nil {
		return err
	}
	if err := st.SaveOOF(ctx, "alice@example.com", calendar.OOFSettings{State: calendar.OOFScheduled, Start: at(24), End: at(48), InternalReply: "away"}); err != nil {
		return err
	}
	// carol: a status, never a window.
	if err := st.SaveStatus(ctx, store.MailboxStatus{SMTP: "carol@example.com", State: "discovering"}); err != nil {
		return err
	}
	// dave: a window without items.
	if err := st.CommitWindow(ctx, "dave@example.com", store.WindowCommit{Checkpoint: cp("dave")}); err != nil {
		return err
	}
	// erin: committed twice (the second replaces the first), with a status.
	for v := range 2 {
		erin := store.MailboxStatus{SMTP: "erin@example.com", State: "subscribed", Occurrences: 30 - 20*v}
		if err := st.CommitWindow(ctx, "erin@example.com", store.WindowCommit{Occurrences: storetest.SampleOccurrences("erin@example.com", 30-20*v, schema1Start, v),
			Checkpoint: cp("erin"), Status: &erin}); err != nil {
			return err
		}
	}
	// frank: committed, then deleted.
	if err := st.CommitWindow(ctx, "frank@example.com", store.WindowCommit{Occurrences: storetest.SampleOccurrences("frank@example.com", 5, schema1Start, 0), Checkpoint: cp("frank")}); err != nil {
		return err
	}
	if err := st.DeleteMailbox(ctx, "frank@example.com"); err != nil {
		return err
	}
	if err := st.SavePresences(ctx, map[string][]byte{"alice@example.com": []byte(`{"availability":"busy"}`), "erin@example.com": []byte(`{"availability":"free"}`)}); err != nil {
		return err
	}
	if err := st.SaveDocument(ctx, "directory.last_good", []byte(`{"users":["alice@example.com"]}`)); err != nil {
		return err
	}
	_, err := st.Enqueue(ctx, []store.OutboxMessage{{ID: "m1", Endpoint: "hook", Key: "alice@example.com", EventType: "presence.changed",
		Payload: []byte(`{"availability":"busy"}`), CreatedAt: at(1), NextAttempt: at(1)}})
	return err
}
