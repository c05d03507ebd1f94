package storetest

import (
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// testReopen writes one of everything, reopens the store and compares what
// it reads back.
func testReopen(t *testing.T, s *suite) {
	st := s.factory(t)
	allDay := occ("allday", 24, 48)
	allDay.AllDay = true
	allDay.Kind = calendar.KindException
	allDay.MasterID = "master-1"
	allDay.Categories = nil
	allDay.Sensitivity = calendar.Private
	allDay.Cancelled = true
	commit(t, st, alice, checkpoint(window(0, 72), "s"), occ("a", 1, 2), allDay, occ("long", 2, 30))
	must(t, st.SaveStatus(ctxT(t), fullStatus(alice)), "SaveStatus")
	must(t, st.SaveOOF(ctxT(t), alice, calendar.OOFSettings{State: calendar.OOFScheduled, Start: at(1), End: at(2), InternalReply: "away"}), "SaveOOF")
	must(t, st.SaveCheckpoint(ctxT(t), "bob@example.com", checkpoint(window(0, 24), "b")), "SaveCheckpoint")
	carol := fullStatus("carol@example.com")
	must(t, st.CommitWindow(ctxT(t), carol.SMTP, store.WindowCommit{Occurrences: []calendar.Occurrence{occ("c", 1, 2)},
		Checkpoint: checkpoint(window(0, 24), "c"), Status: &carol}), "CommitWindow with a status")
	erin := fullStatus("erin@example.com")
	must(t, st.CommitWindow(ctxT(t), erin.SMTP, store.WindowCommit{Occurrences: []calendar.Occurrence{occ("e", 1, 2)},
		Checkpoint: checkpoint(window(0, 24), "e"), Status: &erin,
		OOF: &calendar.OOFSettings{State: calendar.OOFScheduled, Start: at(3), End: at(4), InternalReply: "out"}}),
		"CommitWindow with a status and automatic replies")
	must(t, st.SaveStatuses(ctxT(t), []store.MailboxStatus{fullStatus("frank@example.com"), {SMTP: "bob@example.com", State: "stopped"}}), "SaveStatuses")
	must(t, st.SavePresence(ctxT(t), alice, []byte(`{"availability":"busy"}`)), "SavePresence")
	must(t, st.SavePresences(ctxT(t), map[string][]byte{"bob@example.com": []byte(`{"availability":"tentative"}`),
		"carol@example.com": []byte(`{"availability":"available"}`)}), "SavePresences")
	must(t, st.AcquireLease(ctxT(t), alice, "node-1", at(0), time.Hour), "AcquireLease")
	must(t, st.SaveDocument(ctxT(t), "directory.last_good", []byte(`{"users":["alice@example.com"]}`)), "SaveDocument")
	m := enqueue(t, st, msg("hook", "alice", "e1"), msg("hook", "alice", "e2"), msg("hook", "bob", "e1"), msg("hook", "dave", "e1"))
	must(t, st.MarkFailed(ctxT(t), m[0].ID, failure("HTTP 503", 0.5, 1, false)), "MarkFailed")
	must(t, st.MarkFailed(ctxT(t), m[2].ID, failure("HTTP 410", 0.5, 1, true)), "MarkFailed dead")
	// A re-queued dead letter keeps its re-queue count and time.
	must(t, st.MarkFailed(ctxT(t), m[3].ID, failure("HTTP 500", 0.5, 1, true)), "MarkFailed dead")
	_, err := st.RequeueDeadLetter(ctxT(t), m[3].ID, at(2))
	must(t, err, "RequeueDeadLetter")

	recsBefore, err := st.Mailboxes(ctxT(t))
	must(t, err, "Mailboxes")
	occsBefore := allOccurrences(t, st, alice)
	dueBefore, err := st.Due(ctxT(t), "hook", at(5), 0)
	must(t, err, "Due")
	deadBefore, err := st.DeadLetters(ctxT(t), store.DeadLetterQuery{})
	must(t, err, "DeadLetters")
	statsBefore, err := st.OutboxStats(ctxT(t))
	must(t, err, "OutboxStats")

	st = s.reopen(t, st)
	t.Cleanup(func() { _ = st.Close() })

	recs, err := st.Mailboxes(ctxT(t))
	must(t, err, "Mailboxes after reopen")
	if err := diff("records after reopen", recs, recsBefore); err != nil {
		t.Error(err)
	}
	if err := diff("occurrences after reopen", allOccurrences(t, st, alice), occsBefore); err != nil {
		t.Error(err)
	}
	wantIDs(t, "query after reopen", mustOccurrences(t, st, alice, at(29), at(29.5)), "long", "allday")
	docs, err := st.LoadPresence(ctxT(t))
	must(t, err, "LoadPresence")
	wantDocs := map[string][]byte{alice: []byte(`{"availability":"busy"}`),
		"bob@example.com": []byte(`{"availability":"tentative"}`), "carol@example.com": []byte(`{"availability":"available"}`)}
	if err := diff("presence after reopen", docs, wantDocs); err != nil {
		t.Error(err)
	}
	doc, err := st.LoadDocument(ctxT(t), "directory.last_good")
	if err != nil || string(doc) != `{"users":["alice@example.com"]}` {
		t.Errorf("document after reopen = %s (%v), want the saved one", doc, err)
	}
	wantErr(t, "lease after reopen", st.AcquireLease(ctxT(t), alice, "node-2", at(0.5), time.Hour), store.ErrConflict)
	dueAfter, err := st.Due(ctxT(t), "hook", at(5), 0)
	must(t, err, "Due after reopen")
	if err := diff("due after reopen", dueAfter, dueBefore); err != nil {
		t.Error(err)
	}
	deadAfter, err := st.DeadLetters(ctxT(t), store.DeadLetterQuery{})
	must(t, err, "DeadLetters after reopen")
	if err := diff("dead letters after reopen", deadAfter, deadBefore); err != nil {
		t.Error(err)
	}
	statsAfter, err := st.OutboxStats(ctxT(t))
	must(t, err, "OutboxStats after reopen")
	if err := diff("outbox stats after reopen", statsAfter, statsBefore); err != nil {
		t.Error(err)
	}
	n := enqueue(t, st, msg("hook", "carol", "e1"))
	if n[0].Seq <= m[3].Seq {
		t.Errorf("Seq after reopen %d, not above %d", n[0].Seq, m[3].Seq)
	}
}

func mustOccurrences(t *testing.T, st store.Store, smtp string, start, end time.Time) []calendar.Occurrence {
	t.Helper()
	occs, err := st.Occurrences(ctxT(t), smtp, start, end)
	must(t, err, "Occurrences")
	return occs
}
