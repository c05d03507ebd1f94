package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

const alice = "alice@example.com"

func testCommitReplaces(t *testing.T, st store.Store) {
	commit(t, st, alice, checkpoint(window(0, 48), "s1"), occ("a", 1, 2), occ("b", 3, 4), occ("c", 30, 31))
	wantIDs(t, "first commit", allOccurrences(t, st, alice), "a", "b", "c")

	// The second commit moves "b", drops "a" and "c", adds "d".
	moved := occ("b", 5, 6)
	moved.ChangeKey = "ck-b2"
	moved.Subject = "Moved"
	cp2 := checkpoint(window(0, 48), "s2")
	commit(t, st, alice, cp2, occ("d", 10, 11), moved)
	got := allOccurrences(t, st, alice)
	wantIDs(t, "second commit", got, "b", "d")
	if err := diff("moved occurrence", got[0], moved); err != nil {
		t.Error(err)
	}
	rec, err := st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("checkpoint saved with the window", rec.Checkpoint, cp2); err != nil {
		t.Error(err)
	}
	if rec.Status.SMTP != alice {
		t.Errorf("record created by CommitWindow has SMTP %q, want %q", rec.Status.SMTP, alice)
	}

	// An empty commit empties the window.
	commit(t, st, alice, checkpoint(window(0, 48), "s3"))
	wantIDs(t, "empty commit", allOccurrences(t, st, alice))
}

func testCommitDropsOutside(t *testing.T, st store.Store) {
	commit(t, st, alice, checkpoint(window(0, 48), "s1"), occ("early", 1, 2), occ("late", 40, 41))
	// The window rolls forward by a day: "early" is outside and not in the
	// commit; "before" and "after" are in the commit but outside the window.
	commit(t, st, alice, checkpoint(window(24, 72), "s2"),
		occ("before", 10, 12), occ("late", 40, 41), occ("spanning", 23, 25), occ("after", 72, 73), occ("end-inside", 71, 72))
	wantIDs(t, "after rolling the window", allOccurrences(t, st, alice), "spanning", "late", "end-inside")
}

func testFailedCommitKeepsOldState(t *testing.T, st store.Store) {
	cp := checkpoint(window(0, 48), "good")
	commit(t, st, alice, cp, occ("a", 1, 2), occ("b", 3, 4))
	backwards := occ("x", 5, 6)
	backwards.End = backwards.Start.Add(-time.Minute)
	bad := []struct {
		name   string
		commit store.WindowCommit
	}{
		{"occurrence ending before its start", store.WindowCommit{Checkpoint: checkpoint(window(0, 48), "bad"), Occurrences: []calendar.Occurrence{occ("c", 1, 2), backwards}}},
		{"duplicate item id", store.WindowCommit{Checkpoint: checkpoint(window(0, 48), "bad"), Occurrences: []calendar.Occurrence{occ("c", 1, 2), occ("c", 5, 6)}}},
		{"missing item id", store.WindowCommit{Checkpoint: checkpoint(window(0, 48), "bad"), Occurrences: []calendar.Occurrence{occ("", 1, 2)}}},
		{"no window", store.WindowCommit{Checkpoint: store.Checkpoint{SyncState: "bad"}, Occurrences: []calendar.Occurrence{occ("c", 1, 2)}}},
		{"inverted window", store.WindowCommit{Checkpoint: checkpoint(window(48, 0), "bad")}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := st.CommitWindow(ctxT(t), alice, tc.commit); err == nil {
				t.Fatal("CommitWindow accepted a bad commit")
			}
			wantIDs(t, "after failed commit", allOccurrences(t, st, alice), "a", "b")
			rec, err := st.Mailbox(ctxT(t), alice)
			must(t, err, "Mailbox")
			if err := diff("checkpoint after failed commit", rec.Checkpoint, cp); err != nil {
				t.Error(err)
			}
		})
	}
	if err := st.CommitWindow(ctxT(t), "", store.WindowCommit{Checkpoint: cp}); err == nil {
		t.Error("CommitWindow accepted an empty mailbox address")
	}
}

func testCommitNormalizes(t *testing.T, st store.Store) {
	local := occ("a", 1, 2)
	local.Start = local.Start.In(berlin)
	local.End = local.End.In(berlin)
	local.Categories = []string{}
	cp := checkpoint(window(0, 48), "s")
	cp.Window.Start = cp.Window.Start.In(berlin)
	cp.LoadedAt = cp.LoadedAt.In(berlin)
	commit(t, st, alice, cp, local)

	want := occ("a", 1, 2)
	want.Categories = nil
	got := allOccurrences(t, st, alice)
	if len(got) != 1 {
		t.Fatalf("got %d occurrences, want 1", len(got))
	}
	if err := diff("occurrence returned in UTC with nil categories", got[0], want); err != nil {
		t.Error(err)
	}
	rec, err := st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("checkpoint in UTC", rec.Checkpoint, checkpoint(window(0, 48), "s")); err != nil {
		t.Error(err)
	}
}

func testOccurrencesQuery(t *testing.T, st store.Store) {
	long := occ("long", 2, 30) // starts long before most queries
	allDay := occ("allday", 24, 48)
	allDay.AllDay = true
	commit(t, st, alice, checkpoint(window(0, 72), "s"),
		occ("m1", 9, 10), occ("m2", 10, 11), occ("m2b", 10, 10.5), long, allDay,
		occ("zero", 12, 12), occ("z-late", 50, 51))
	tests := []struct {
		name     string
		from, to float64
		want     []string
	}{
		{"everything", 0, 72, []string{"long", "m1", "m2", "m2b", "zero", "allday", "z-late"}},
		{"same start sorted by id", 10, 10.25, []string{"long", "m2", "m2b"}},
		{"end is exclusive", 8, 9, []string{"long"}},
		{"start is exclusive of items ending there", 11, 11.5, []string{"long"}},
		{"zero-length item at query start", 12, 12.5, []string{"long", "zero"}},
		{"zero-length item at query end excluded", 11.5, 12, []string{"long"}},
		{"long item found from late start", 29, 29.5, []string{"long", "allday"}},
		{"after long item", 30, 49, []string{"allday"}},
		{"nothing", 60, 70, nil},
		{"before window", -10, -5, nil},
		{"empty range", 10, 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.Occurrences(ctxT(t), alice, at(tc.from), at(tc.to))
			must(t, err, "Occurrences")
			wantIDs(t, tc.name, got, tc.want...)
		})
	}
	got, err := st.Occurrences(ctxT(t), alice, at(0).In(berlin), at(72).In(berlin))
	must(t, err, "Occurrences in another zone")
	if len(got) != 7 {
		t.Errorf("query with non-UTC bounds returned %d occurrences, want 7", len(got))
	}
	if err := diff("all-day occurrence", got[5], allDay); err != nil {
		t.Error(err)
	}
}

func testSaveCheckpoint(t *testing.T, st store.Store) {
	commit(t, st, alice, checkpoint(window(0, 48), "s1"), occ("a", 1, 2))
	cp := checkpoint(window(0, 48), "s2")
	cp.Watermark = "AQAAAEw="
	must(t, st.SaveCheckpoint(ctxT(t), alice, cp), "SaveCheckpoint")
	rec, err := st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("checkpoint", rec.Checkpoint, cp); err != nil {
		t.Error(err)
	}
	wantIDs(t, "occurrences after SaveCheckpoint", allOccurrences(t, st, alice), "a")

	// SaveCheckpoint creates the record of an unknown mailbox.
	must(t, st.SaveCheckpoint(ctxT(t), "bob@example.com", cp), "SaveCheckpoint new mailbox")
	rec, err = st.Mailbox(ctxT(t), "bob@example.com")
	must(t, err, "Mailbox bob")
	if rec.Status.SMTP != "bob@example.com" || rec.Checkpoint.SyncState != "s2" {
		t.Errorf("new record = %+v", rec)
	}
	wantIDs(t, "occurrences of a mailbox without commit", allOccurrences(t, st, "bob@example.com"))
}

func fullStatus(smtp string) store.MailboxStatus {
	return store.MailboxStatus{
		SMTP:         smtp,
		State:        "subscribed",
		Group:        "EXCH01|https://mail.example.com/EWS/Exchange.asmx",
		Connection:   "stream-3",
		EWSURL:       "https://mail.example.com/EWS/Exchange.asmx",
		TimeZone:     "Europe/Berlin",
		LastEvent:    at(5),
		LastVerified: at(6),
		LastError: &store.SyncError{
			Code: "ErrorServerBusy", Message: "server busy", Hint: "wait", At: at(4),
		},
		Occurrences:         12,
		ConsecutiveFailures: 2,
	}
}

// inBerlin returns st with its instants in another zone than UTC (a store
// gives them back in UTC) and its own copy of LastError.
func inBerlin(st store.MailboxStatus) store.MailboxStatus {
	st.LastEvent, st.LastVerified = st.LastEvent.In(berlin), st.LastVerified.In(berlin)
	if st.LastError != nil {
		e := *st.LastError
		e.At = e.At.In(berlin)
		st.LastError = &e
	}
	return st
}

func testStatusAndOOF(t *testing.T, st store.Store) {
	want := fullStatus(alice)
	in := inBerlin(want)
	must(t, st.SaveStatus(ctxT(t), in), "SaveStatus")
	oof := calendar.OOFSettings{State: calendar.OOFScheduled, Start: at(24), End: at(96).In(berlin), InternalReply: "Back Monday"}
	must(t, st.SaveOOF(ctxT(t), alice, oof), "SaveOOF")
	commit(t, st, alice, checkpoint(window(0, 48), "s"), occ("a", 1, 2))

	rec, err := st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	oof.End = oof.End.UTC()
	wantRec := store.MailboxRecord{Status: want, Checkpoint: checkpoint(window(0, 48), "s"), OOF: &oof}
	if err := diff("record", rec, wantRec); err != nil {
		t.Error(err)
	}

	// A status without error clears the previous error; the other parts stay.
	cleared := fullStatus(alice)
	cleared.LastError = nil
	cleared.State = "resyncing"
	must(t, st.SaveStatus(ctxT(t), cleared), "SaveStatus cleared")
	rec, err = st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	wantRec.Status = cleared
	if err := diff("record after clearing the error", rec, wantRec); err != nil {
		t.Error(err)
	}
	if err := st.SaveStatus(ctxT(t), store.MailboxStatus{State: "x"}); err == nil {
		t.Error("SaveStatus accepted a status without SMTP address")
	}
}

// testCommitCarriesStatus: a window commit with a status stores it in the
// same transaction (the first load's one write); one without keeps the
// stored status; a status of another mailbox fails the whole commit.
func testCommitCarriesStatus(t *testing.T, st store.Store) {
	want := fullStatus(alice)
	in := inBerlin(want)
	cp := checkpoint(window(0, 48), "s1")
	must(t, st.CommitWindow(ctxT(t), alice, store.WindowCommit{Occurrences: []calendar.Occurrence{occ("a", 1, 2)}, Checkpoint: cp, Status: &in}),
		"CommitWindow with a status")
	in.LastError.Code = "changed after the commit"
	rec, err := st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("record of a commit with a status", rec, store.MailboxRecord{Status: want, Checkpoint: cp}); err != nil {
		t.Error(err)
	}
	wantIDs(t, "occurrences of a commit with a status", allOccurrences(t, st, alice), "a")

	// Without a status the stored one stays.
	cp2 := checkpoint(window(0, 48), "s2")
	commit(t, st, alice, cp2, occ("b", 3, 4))
	rec, err = st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("record after a commit without a status", rec, store.MailboxRecord{Status: want, Checkpoint: cp2}); err != nil {
		t.Error(err)
	}

	// A status of another mailbox: nothing of the commit is stored.
	bob := fullStatus("bob@example.com")
	err = st.CommitWindow(ctxT(t), alice, store.WindowCommit{Occurrences: []calendar.Occurrence{occ("c", 5, 6)}, Checkpoint: checkpoint(window(0, 48), "bad"), Status: &bob})
	if err == nil {
		t.Fatal("CommitWindow stored the status of another mailbox")
	}
	rec, err = st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("record after a refused commit", rec, store.MailboxRecord{Status: want, Checkpoint: cp2}); err != nil {
		t.Error(err)
	}
	wantIDs(t, "occurrences after a refused commit", allOccurrences(t, st, alice), "b")
	wantErr(t, "the other mailbox after a refused commit", func() error { _, err := st.Mailbox(ctxT(t), bob.SMTP); return err }(), store.ErrNotFound)
}

// testCommitCarriesOOF: a window commit with automatic-reply settings
// stores them in the same transaction (in UTC, with the status it may
// carry too); one without keeps the stored settings; a refused commit
// stores none.
func testCommitCarriesOOF(t *testing.T, st store.Store) {
	want := fullStatus(alice)
	in := inBerlin(want)
	oof := calendar.OOFSettings{State: calendar.OOFScheduled, Start: at(24), End: at(96).In(berlin), InternalReply: "Back Monday"}
	cp := checkpoint(window(0, 48), "o1")
	must(t, st.CommitWindow(ctxT(t), alice, store.WindowCommit{Occurrences: []calendar.Occurrence{occ("a", 1, 2)}, Checkpoint: cp, Status: &in, OOF: &oof}),
		"CommitWindow with a status and automatic replies")
	oof.InternalReply = "changed after the commit"
	rec, err := st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	wantOOF := calendar.OOFSettings{State: calendar.OOFScheduled, Start: at(24), End: at(96), InternalReply: "Back Monday"}
	if err := diff("record of a commit with automatic replies", rec, store.MailboxRecord{Status: want, Checkpoint: cp, OOF: &wantOOF}); err != nil {
		t.Error(err)
	}

	// Automatic replies alone, without a status: the stored status stays.
	off := calendar.OOFSettings{State: calendar.OOFDisabled}
	cp2 := checkpoint(window(0, 48), "o2")
	must(t, st.CommitWindow(ctxT(t), alice, store.WindowCommit{Occurrences: []calendar.Occurrence{occ("b", 3, 4)}, Checkpoint: cp2, OOF: &off}),
		"CommitWindow with automatic replies only")
	rec, err = st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("record after a commit with automatic replies only", rec, store.MailboxRecord{Status: want, Checkpoint: cp2, OOF: &off}); err != nil {
		t.Error(err)
	}

	// Without them the stored settings stay.
	cp3 := checkpoint(window(0, 48), "o3")
	commit(t, st, alice, cp3, occ("c", 5, 6))
	rec, err = st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("record after a commit without automatic replies", rec, store.MailboxRecord{Status: want, Checkpoint: cp3, OOF: &off}); err != nil {
		t.Error(err)
	}

	// A refused commit (the status of another mailbox) stores none of them.
	bob := fullStatus("bob@example.com")
	on := calendar.OOFSettings{State: calendar.OOFEnabled, InternalReply: "away"}
	err = st.CommitWindow(ctxT(t), alice, store.WindowCommit{Occurrences: []calendar.Occurrence{occ("d", 7, 8)}, Checkpoint: checkpoint(window(0, 48), "bad"), Status: &bob, OOF: &on})
	if err == nil {
		t.Fatal("CommitWindow stored the status of another mailbox")
	}
	rec, err = st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("record after a refused commit", rec, store.MailboxRecord{Status: want, Checkpoint: cp3, OOF: &off}); err != nil {
		t.Error(err)
	}
}

func testMailboxesSorted(t *testing.T, st store.Store) {
	for _, smtp := range []string{"carol@example.com", "alice@example.com", "bob@example.com", "Zed@example.com"} {
		must(t, st.SaveStatus(ctxT(t), store.MailboxStatus{SMTP: smtp, State: "loading"}), "SaveStatus")
	}
	must(t, st.SaveOOF(ctxT(t), "dave@example.com", calendar.OOFSettings{State: calendar.OOFEnabled}), "SaveOOF")
	recs, err := st.Mailboxes(ctxT(t))
	must(t, err, "Mailboxes")
	var got []string
	for _, r := range recs {
		got = append(got, r.Status.SMTP)
	}
	want := []string{"Zed@example.com", "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}
	if err := diff("mailbox order", got, want); err != nil {
		t.Error(err)
	}
	if recs[4].OOF == nil || recs[4].OOF.State != calendar.OOFEnabled {
		t.Errorf("dave's record lost its automatic replies: %+v", recs[4])
	}
}

func testDeleteMailbox(t *testing.T, st store.Store) {
	for _, smtp := range []string{alice, "bob@example.com"} {
		commit(t, st, smtp, checkpoint(window(0, 48), "s"), occ("a", 1, 2), occ("b", 2, 3))
		must(t, st.SaveStatus(ctxT(t), fullStatus(smtp)), "SaveStatus")
		must(t, st.SavePresence(ctxT(t), smtp, []byte(`{"availability":"busy"}`)), "SavePresence")
		must(t, st.AcquireLease(ctxT(t), smtp, "node-1", at(0), time.Hour), "AcquireLease")
	}
	must(t, st.DeleteMailbox(ctxT(t), alice), "DeleteMailbox")
	_, err := st.Mailbox(ctxT(t), alice)
	wantErr(t, "Mailbox after delete", err, store.ErrNotFound)
	_, err = st.Occurrences(ctxT(t), alice, at(0), at(48))
	wantErr(t, "Occurrences after delete", err, store.ErrNotFound)
	docs, err := st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence")
	if _, ok := docs[alice]; ok || len(docs) != 1 {
		t.Errorf("presence after delete: %v, want only bob", docs)
	}
	// The lease went with the mailbox: another owner can claim it at once.
	must(t, st.AcquireLease(ctxT(t), alice, "node-2", at(0), time.Hour), "AcquireLease after delete")
	wantErr(t, "second delete", st.DeleteMailbox(ctxT(t), alice), store.ErrNotFound)

	wantIDs(t, "bob untouched", allOccurrences(t, st, "bob@example.com"), "a", "b")
	if _, err := st.Mailbox(ctxT(t), "bob@example.com"); err != nil {
		t.Errorf("bob's record: %v", err)
	}
	// A deleted mailbox can come back.
	commit(t, st, alice, checkpoint(window(0, 48), "again"), occ("c", 1, 2))
	wantIDs(t, "recreated", allOccurrences(t, st, alice), "c")
}

func testNotFound(t *testing.T, st store.Store) {
	_, err := st.Mailbox(ctxT(t), "nobody@example.com")
	wantErr(t, "Mailbox", err, store.ErrNotFound)
	_, err = st.Occurrences(ctxT(t), "nobody@example.com", at(0), at(1))
	wantErr(t, "Occurrences", err, store.ErrNotFound)
	wantErr(t, "DeleteMailbox", st.DeleteMailbox(ctxT(t), "nobody@example.com"), store.ErrNotFound)
	wantErr(t, "MarkDelivered", st.MarkDelivered(ctxT(t), "no-such-id"), store.ErrNotFound)
	wantErr(t, "MarkFailed", st.MarkFailed(ctxT(t), "no-such-id", failure("x", 1, 1, false)), store.ErrNotFound)
	recs, err := st.Mailboxes(ctxT(t))
	must(t, err, "Mailboxes")
	if len(recs) != 0 {
		t.Errorf("empty store lists %d mailboxes", len(recs))
	}
}

func testLeases(t *testing.T, st store.Store) {
	const mb = alice
	steps := []struct {
		name   string
		op     string // acquire or release
		owner  string
		now    float64
		ttl    time.Duration
		target error
	}{
		{"grant", "acquire", "node-1", 0, time.Hour, nil},
		{"renew by owner", "acquire", "node-1", 0.5, time.Hour, nil},
		{"conflict for other owner", "acquire", "node-2", 1, time.Hour, store.ErrConflict},
		{"still held just before expiry of renewal", "acquire", "node-2", 1.49, time.Hour, store.ErrConflict},
		{"release by other owner refused", "release", "node-2", 1.49, 0, store.ErrConflict},
		{"expired lease taken over", "acquire", "node-2", 1.5, time.Hour, nil},
		{"old owner now conflicts", "acquire", "node-1", 2, time.Hour, store.ErrConflict},
		{"release by holder", "release", "node-2", 2, 0, nil},
		{"release when not held is a no-op", "release", "node-2", 2, 0, nil},
		{"free again after release", "acquire", "node-1", 2, time.Minute, nil},
	}
	for _, s := range steps {
		var err error
		if s.op == "acquire" {
			err = st.AcquireLease(ctxT(t), mb, s.owner, at(s.now), s.ttl)
		} else {
			err = st.ReleaseLease(ctxT(t), mb, s.owner)
		}
		if s.target == nil && err != nil {
			t.Errorf("%s: unexpected error %v", s.name, err)
		}
		if s.target != nil {
			wantErr(t, s.name, err, s.target)
		}
	}
	// Leases are per mailbox.
	must(t, st.AcquireLease(ctxT(t), "bob@example.com", "node-2", at(2), time.Hour), "lease on another mailbox")
	if err := st.AcquireLease(ctxT(t), mb, "node-1", at(2), 0); err == nil {
		t.Error("AcquireLease accepted a zero duration")
	}
	if err := st.AcquireLease(ctxT(t), mb, "", at(2), time.Hour); err == nil {
		t.Error("AcquireLease accepted an empty owner")
	}
}

func testPresence(t *testing.T, st store.Store) {
	docs, err := st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence empty")
	if len(docs) != 0 {
		t.Errorf("empty store has presence %v", docs)
	}
	must(t, st.SavePresence(ctxT(t), alice, []byte(`{"availability":"busy"}`)), "SavePresence")
	must(t, st.SavePresence(ctxT(t), "bob@example.com", []byte(`{"availability":"available"}`)), "SavePresence")
	must(t, st.SavePresence(ctxT(t), alice, []byte(`{"availability":"out_of_office"}`)), "SavePresence overwrite")
	docs, err = st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence")
	want := map[string][]byte{alice: []byte(`{"availability":"out_of_office"}`), "bob@example.com": []byte(`{"availability":"available"}`)}
	if err := diff("presence", docs, want); err != nil {
		t.Error(err)
	}
	// Presence alone does not make a mailbox record.
	if _, err := st.Mailbox(ctxT(t), alice); err == nil {
		t.Error("SavePresence created a mailbox record")
	}
}

func testPresenceBatch(t *testing.T, st store.Store) {
	const bob, carol = "bob@example.com", "carol@example.com"
	must(t, st.SavePresence(ctxT(t), alice, []byte(`{"availability":"busy"}`)), "SavePresence")
	must(t, st.SavePresences(ctxT(t), nil), "SavePresences of nothing")
	must(t, st.SavePresences(ctxT(t), map[string][]byte{
		alice: []byte(`{"availability":"available"}`),
		bob:   []byte(`{"availability":"busy"}`),
	}), "SavePresences")
	want := map[string][]byte{alice: []byte(`{"availability":"available"}`), bob: []byte(`{"availability":"busy"}`)}
	docs, err := st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence")
	if err := diff("presence after batch", docs, want); err != nil {
		t.Error(err)
	}

	// A batch with an invalid entry stores nothing, not even the valid ones.
	if err := st.SavePresences(ctxT(t), map[string][]byte{
		alice: []byte(`{"availability":"out_of_office"}`),
		carol: []byte(`{"availability":"busy"}`),
		"":    []byte(`{}`),
	}); err == nil {
		t.Error("SavePresences accepted an empty user address")
	}
	docs, err = st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence after failed batch")
	if err := diff("presence after failed batch", docs, want); err != nil {
		t.Error(err)
	}

	// Single and batch saves overwrite each other: the later one wins.
	must(t, st.SavePresences(ctxT(t), map[string][]byte{bob: []byte(`{"availability":"tentative"}`)}), "SavePresences overwrite")
	must(t, st.SavePresence(ctxT(t), alice, []byte(`{"availability":"unknown"}`)), "SavePresence after batch")
	docs, err = st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence")
	want = map[string][]byte{alice: []byte(`{"availability":"unknown"}`), bob: []byte(`{"availability":"tentative"}`)}
	if err := diff("presence after overwrites", docs, want); err != nil {
		t.Error(err)
	}

	// The caller may reuse its buffers.
	doc := []byte(`{"a":1}`)
	must(t, st.SavePresences(ctxT(t), map[string][]byte{carol: doc}), "SavePresences")
	doc[1] = 'X'
	docs, err = st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence")
	if string(docs[carol]) != `{"a":1}` {
		t.Errorf("stored presence changed to %s", docs[carol])
	}
	// Presence alone does not make a mailbox record.
	if _, err := st.Mailbox(ctxT(t), bob); err == nil {
		t.Error("SavePresences created a mailbox record")
	}
}

func testIsolation(t *testing.T, st store.Store) {
	in := []calendar.Occurrence{occ("a", 1, 2)}
	commit(t, st, alice, checkpoint(window(0, 48), "s"), in...)
	in[0].Subject = "changed by caller"
	in[0].Categories[0] = "changed"
	got := allOccurrences(t, st, alice)
	got[0].Categories[1] = "changed too"
	got[0].Subject = "changed too"
	again := allOccurrences(t, st, alice)
	if err := diff("stored occurrence", again[0], occ("a", 1, 2)); err != nil {
		t.Error(err)
	}

	st0 := fullStatus(alice)
	must(t, st.SaveStatus(ctxT(t), st0), "SaveStatus")
	st0.LastError.Code = "changed"
	rec, err := st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	rec.Status.LastError.Code = "changed too"
	rec, err = st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if rec.Status.LastError.Code != "ErrorServerBusy" {
		t.Errorf("stored error code changed to %q", rec.Status.LastError.Code)
	}

	doc := []byte(`{"a":1}`)
	must(t, st.SavePresence(ctxT(t), alice, doc), "SavePresence")
	doc[1] = 'X'
	docs, err := st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence")
	docs[alice][2] = 'Y'
	docs, err = st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence")
	if string(docs[alice]) != `{"a":1}` {
		t.Errorf("stored presence changed to %s", docs[alice])
	}

	payload := []byte(`{"p":1}`)
	msgs, err := st.Enqueue(ctxT(t), []store.OutboxMessage{{Endpoint: "e", Key: "k", EventType: "t", Payload: payload}})
	must(t, err, "Enqueue")
	payload[1] = 'X'
	msgs[0].Payload[2] = 'Y'
	due, err := st.Due(ctxT(t), "e", at(0), 0)
	must(t, err, "Due")
	if len(due) != 1 || string(due[0].Payload) != `{"p":1}` {
		t.Errorf("stored payload changed: %+v", due)
	}
}

func testConcurrent(t *testing.T, st store.Store) {
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			smtp := fmt.Sprintf("user%02d@example.com", w)
			for r := range rounds {
				cp := checkpoint(window(0, 48), fmt.Sprintf("s%d", r))
				occs := []calendar.Occurrence{occ(fmt.Sprintf("%s-%d-a", smtp, r), 1, 2), occ(fmt.Sprintf("%s-%d-b", smtp, r), 3, 4)}
				if err := st.CommitWindow(t.Context(), smtp, store.WindowCommit{Occurrences: occs, Checkpoint: cp}); err != nil {
					errs <- err
					return
				}
				if err := st.SaveStatus(t.Context(), store.MailboxStatus{SMTP: smtp, State: "subscribed", Occurrences: r}); err != nil {
					errs <- err
					return
				}
				got, err := st.Occurrences(t.Context(), smtp, at(0), at(48))
				if err != nil {
					errs <- err
					return
				}
				if len(got) != 2 || got[0].ItemID != occs[0].ItemID {
					errs <- fmt.Errorf("%s round %d read %v", smtp, r, ids(got))
					return
				}
				if _, err := st.Enqueue(t.Context(), []store.OutboxMessage{{Endpoint: "e", Key: smtp, EventType: "t"}}); err != nil {
					errs <- err
					return
				}
				if _, err := st.Mailboxes(t.Context()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recs, err := st.Mailboxes(ctxT(t))
	must(t, err, "Mailboxes")
	if len(recs) != workers {
		t.Fatalf("%d mailboxes, want %d", len(recs), workers)
	}
	for _, r := range recs {
		if r.Status.Occurrences != rounds-1 || r.Checkpoint.SyncState != fmt.Sprintf("s%d", rounds-1) {
			t.Errorf("%s ended with status %+v checkpoint %+v", r.Status.SMTP, r.Status, r.Checkpoint)
		}
	}
	stats, err := st.OutboxStats(ctxT(t))
	must(t, err, "OutboxStats")
	if stats["e"].Pending != workers*rounds {
		t.Errorf("outbox holds %d messages, want %d", stats["e"].Pending, workers*rounds)
	}
}
