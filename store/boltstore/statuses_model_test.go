package boltstore_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/memstore"
)

// Random sequences of every write that touches a mailbox's status — a
// commit with and without one, statuses alone and in batches (a mailbox
// twice in one, mailboxes without a bucket), checkpoints, deletes and
// re-adds, reopens (read-only too) — read back as memstore reads the same calls: the
// mailbox's status is the last one written, whichever bucket holds it.
func TestStatusesReadAsTheLastWrittenInRandomSequences(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { statusSequence(t, seed) })
	}
}

func statusSequence(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 16))
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "calsync.db")
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	model := memstore.New()
	boxes := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"}
	n := 0
	status := func(smtp string) store.MailboxStatus {
		n++
		return store.MailboxStatus{SMTP: smtp, State: fmt.Sprintf("s%d", n)}
	}
	var log []string
	for step := range 120 {
		smtp := boxes[rng.IntN(len(boxes))]
		var op string
		var errB, errM error
		switch k := rng.IntN(9); k {
		case 0, 1:
			st := status(smtp)
			op = "commit+" + st.State
			errB, errM = s.CommitWindow(ctx, smtp, statusCommit(smtp, &st)), model.CommitWindow(ctx, smtp, statusCommit(smtp, &st))
		case 2:
			op = "commit"
			errB, errM = s.CommitWindow(ctx, smtp, statusCommit(smtp, nil)), model.CommitWindow(ctx, smtp, statusCommit(smtp, nil))
		case 3, 4:
			st := status(smtp)
			op = "alone " + st.State
			errB, errM = s.SaveStatus(ctx, st), model.SaveStatus(ctx, st)
		case 5:
			var sts []store.MailboxStatus
			for range 1 + rng.IntN(6) {
				sts = append(sts, status(boxes[rng.IntN(len(boxes))]))
			}
			op = fmt.Sprint("batch ", sts)
			errB, errM = s.SaveStatuses(ctx, sts), model.SaveStatuses(ctx, sts)
		case 6:
			op = "delete"
			errB, errM = s.DeleteMailbox(ctx, smtp), model.DeleteMailbox(ctx, smtp)
		case 7:
			cp := store.Checkpoint{SyncState: fmt.Sprint("cp", step)}
			op = "checkpoint"
			errB, errM = s.SaveCheckpoint(ctx, smtp, cp), model.SaveCheckpoint(ctx, smtp, cp)
		case 8:
			op = "reopen"
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// A read-only open (calsync check) reads the same statuses.
			ro, err := boltstore.Open(path, boltstore.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ro.Mailboxes(ctx)
			_ = ro.Close()
			want, _ := model.Mailboxes(ctx)
			if err != nil || !reflect.DeepEqual(statusesOf(got), statusesOf(want)) {
				t.Fatalf("after step %d a read-only open's Mailboxes = %v, %v; want %v\n%v", step, statusesOf(got), err, statusesOf(want), log)
			}
			if s, err = boltstore.Open(path, boltstore.Options{NoSync: true}); err != nil {
				t.Fatal(err)
			}
		}
		log = append(log, smtp+" "+op)
		if (errB == nil) != (errM == nil) {
			t.Fatalf("step %d %v: boltstore %v, memstore %v\n%v", step, log[len(log)-1], errB, errM, log)
		}
		got, err := s.Mailboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := model.Mailboxes(ctx)
		if !reflect.DeepEqual(statusesOf(got), statusesOf(want)) {
			t.Fatalf("after step %d Mailboxes = %v, want %v\n%v", step, statusesOf(got), statusesOf(want), log)
		}
		for _, smtp := range boxes {
			got, errB := s.Mailbox(ctx, smtp)
			want, errM := model.Mailbox(ctx, smtp)
			if (errB == nil) != (errM == nil) || got.Status != want.Status {
				t.Fatalf("after step %d Mailbox %s = %v, %v; want %v, %v\n%v", step, smtp, got.Status, errB, want.Status, errM, log)
			}
		}
	}
}

func statusesOf(recs []store.MailboxRecord) []store.MailboxStatus {
	out := []store.MailboxStatus{}
	for _, r := range recs {
		out = append(out, r.Status)
	}
	return out
}
