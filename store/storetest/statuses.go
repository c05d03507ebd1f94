package storetest

import (
	"fmt"
	"testing"

	"github.com/calsync/calsync/store"
)

// testSaveStatuses: a batch larger than any store's transaction batch
// stores every status as SaveStatus would (a stored record keeps its
// checkpoint, an unknown mailbox gets a record, a mailbox named twice
// keeps the later status); an empty address fails the call before
// anything is stored; an empty batch is a no-op.
func testSaveStatuses(t *testing.T, st store.Store) {
	commit(t, st, alice, checkpoint(window(0, 48), "s"), occ("a", 1, 2))
	sts := []store.MailboxStatus{inBerlin(fullStatus(alice))}
	for i := range 2500 {
		sts = append(sts, store.MailboxStatus{SMTP: fmt.Sprintf("user%04d@example.com", i), State: "stopped", Occurrences: i})
	}
	later := fullStatus(alice)
	later.State = "stopped"
	sts = append(sts, later)
	must(t, st.SaveStatuses(ctxT(t), sts), "SaveStatuses")

	rec, err := st.Mailbox(ctxT(t), alice)
	must(t, err, "Mailbox")
	if err := diff("record", rec, store.MailboxRecord{Status: later, Checkpoint: checkpoint(window(0, 48), "s")}); err != nil {
		t.Error(err)
	}
	recs, err := st.Mailboxes(ctxT(t))
	must(t, err, "Mailboxes")
	if len(recs) != 2501 {
		t.Fatalf("%d records, want 2501", len(recs))
	}
	for i, r := range recs[1:] {
		want := store.MailboxStatus{SMTP: fmt.Sprintf("user%04d@example.com", i), State: "stopped", Occurrences: i}
		if err := diff("status", r.Status, want); err != nil {
			t.Fatal(err)
		}
	}
	wantIDs(t, "alice's occurrences after the batch", allOccurrences(t, st, alice), "a")

	bad := []store.MailboxStatus{{SMTP: "new@example.com", State: "stopped"}, {State: "stopped"}}
	if err := st.SaveStatuses(ctxT(t), bad); err == nil {
		t.Error("SaveStatuses accepted a status without SMTP address")
	}
	if _, err := st.Mailbox(ctxT(t), "new@example.com"); err == nil {
		t.Error("a batch that failed for an empty address stored a status")
	}
	must(t, st.SaveStatuses(ctxT(t), nil), "SaveStatuses of nothing")
}
