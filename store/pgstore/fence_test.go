package pgstore_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/pgstore"
)

// instance is one calsync instance's view: the epochs it was granted.
type instance struct {
	mu     sync.Mutex
	owner  string
	epochs map[string]int64
	st     store.Store
}

func newInstance(s *pgstore.Store, owner string) *instance {
	in := &instance{owner: owner, epochs: map[string]int64{}}
	in.st = s.Fenced(func(smtp string) (int64, bool) {
		in.mu.Lock()
		defer in.mu.Unlock()
		e, ok := in.epochs[smtp]
		return e, ok
	})
	return in
}

func (in *instance) acquire(t *testing.T, s *pgstore.Store, smtp string, now time.Time) int64 {
	t.Helper()
	e, err := s.AcquireLeaseEpoch(t.Context(), smtp, in.owner, now, time.Minute)
	if err != nil {
		t.Fatalf("%s acquires %s: %v", in.owner, smtp, err)
	}
	in.mu.Lock()
	in.epochs[smtp] = e
	in.mu.Unlock()
	return e
}

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func window(state string) store.WindowCommit {
	occ := calendar.Occurrence{ItemID: "item-" + state, Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}
	return store.WindowCommit{Occurrences: []calendar.Occurrence{occ},
		Checkpoint: store.Checkpoint{Window: calendar.Window{Start: t0, End: t0.Add(24 * time.Hour)}, SyncState: state}}
}

// writeAll makes every fenced write of one mailbox and returns the errors.
func writeAll(t *testing.T, st store.Store, smtp, state string) []error {
	c := window(state)
	return []error{
		st.CommitWindow(t.Context(), smtp, c),
		st.SaveCheckpoint(t.Context(), smtp, c.Checkpoint),
		st.SaveStatus(t.Context(), store.MailboxStatus{SMTP: smtp, State: state}),
		st.SaveOOF(t.Context(), smtp, calendar.OOFSettings{State: calendar.OOFEnabled, InternalReply: state}),
		// Last: it must not be refused for an earlier write's sake.
		st.SaveStatuses(t.Context(), []store.MailboxStatus{{SMTP: smtp, State: state}}),
	}
}

func wantState(t *testing.T, s *pgstore.Store, smtp, state string) {
	t.Helper()
	rec, err := s.Mailbox(t.Context(), smtp)
	if err != nil {
		t.Fatalf("Mailbox: %v", err)
	}
	occs, err := s.Occurrences(t.Context(), smtp, t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("Occurrences: %v", err)
	}
	if rec.Checkpoint.SyncState != state || rec.Status.State != state || rec.OOF == nil || rec.OOF.InternalReply != state ||
		len(occs) != 1 || occs[0].ItemID != "item-"+state {
		t.Errorf("stored %+v with %d occurrences, want everything written as %q", rec, len(occs), state)
	}
}

func TestFencedWritesOfAPausedOwnerAreRefused(t *testing.T) {
	s := openFresh(t)
	const mb = "alice@example.com"
	node1, node2 := newInstance(s, "node-1"), newInstance(s, "node-2")

	e1 := node1.acquire(t, s, mb, t0)
	for _, err := range writeAll(t, node1.st, mb, "node-1") {
		if err != nil {
			t.Fatalf("owner's write: %v", err)
		}
	}
	if renewed := node1.acquire(t, s, mb, t0.Add(30*time.Second)); renewed != e1 {
		t.Errorf("renewal changed the epoch from %d to %d", e1, renewed)
	}

	// node-1 pauses past its lease; node-2 takes the mailbox over.
	e2 := node2.acquire(t, s, mb, t0.Add(2*time.Minute))
	if e2 <= e1 {
		t.Fatalf("takeover epoch %d not above %d", e2, e1)
	}
	for i, err := range writeAll(t, node1.st, mb, "stale") {
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("stale owner's write %d: %v, want ErrConflict", i, err)
		}
	}
	wantState(t, s, mb, "node-1") // nothing of the refused writes landed
	for _, err := range writeAll(t, node2.st, mb, "node-2") {
		if err != nil {
			t.Fatalf("new owner's write: %v", err)
		}
	}
	wantState(t, s, mb, "node-2")

	// A release and a new grant to the same owner is a new epoch too.
	if err := s.ReleaseLease(t.Context(), mb, "node-2"); err != nil {
		t.Fatal(err)
	}
	if err := node2.st.SaveStatus(t.Context(), store.MailboxStatus{SMTP: mb, State: "released"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("write after release: %v, want ErrConflict", err)
	}
	stale := e2
	if e3 := node2.acquire(t, s, mb, t0.Add(3*time.Minute)); e3 <= stale {
		t.Errorf("epoch after release and re-grant %d, not above %d", e3, stale)
	}
	node1.mu.Lock()
	node1.epochs[mb] = stale // an instance still holding the released epoch
	node1.mu.Unlock()
	if err := node1.st.SaveStatus(t.Context(), store.MailboxStatus{SMTP: mb, State: "stale"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("write under the released epoch: %v, want ErrConflict", err)
	}
	wantState(t, s, mb, "node-2")
}

func TestFencedWriteWithoutLeaseCreatesNothing(t *testing.T) {
	s := openFresh(t)
	node := newInstance(s, "node-1")
	for i, err := range writeAll(t, node.st, "bob@example.com", "x") {
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("write %d without a lease: %v, want ErrConflict", i, err)
		}
	}
	if _, err := s.Mailbox(t.Context(), "bob@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Mailbox after refused writes: %v, want ErrNotFound", err)
	}
}

// A stale owner keeps committing while another instance takes the mailbox
// over: its commits stop being accepted with the takeover, and the new
// owner's commit after the takeover is what stays stored.
func TestTakeoverRacingStaleCommits(t *testing.T) {
	s := openFresh(t)
	const mb = "carol@example.com"
	node1, node2 := newInstance(s, "node-1"), newInstance(s, "node-2")
	node1.acquire(t, s, mb, t0)
	refused := make(chan error, 1)
	go func() {
		for range 10000 {
			if err := node1.st.CommitWindow(t.Context(), mb, window("node-1")); err != nil {
				refused <- err
				return
			}
		}
		refused <- nil
	}()
	node2.acquire(t, s, mb, t0.Add(2*time.Minute))
	if err := node2.st.CommitWindow(t.Context(), mb, window("node-2")); err != nil {
		t.Fatalf("new owner's commit: %v", err)
	}
	if err := <-refused; !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale owner's commits after the takeover: %v, want ErrConflict", err)
	}
	rec, err := s.Mailbox(t.Context(), mb)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Checkpoint.SyncState != "node-2" {
		t.Errorf("stored checkpoint %q after the takeover, want node-2's", rec.Checkpoint.SyncState)
	}
}

// TestFencedStatusBatchStoresOnlyHeldMailboxes: a stopping instance's
// batch of statuses stores those of the mailboxes it still holds and
// refuses, with ErrConflict, those another instance took over meanwhile.
func TestFencedStatusBatchStoresOnlyHeldMailboxes(t *testing.T) {
	s := openFresh(t)
	node1, node2 := newInstance(s, "node-1"), newInstance(s, "node-2")
	const kept, taken = "kept@example.com", "taken@example.com"
	node1.acquire(t, s, kept, t0)
	node1.acquire(t, s, taken, t0)
	for _, err := range append(writeAll(t, node1.st, kept, "node-1"), writeAll(t, node1.st, taken, "node-1")...) {
		if err != nil {
			t.Fatalf("owner's write: %v", err)
		}
	}
	node2.acquire(t, s, taken, t0.Add(2*time.Minute)) // node-1's lease ran out
	err := node1.st.SaveStatuses(t.Context(), []store.MailboxStatus{{SMTP: kept, State: "stopped"}, {SMTP: taken, State: "stopped"}})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveStatuses over a lost lease: %v, want ErrConflict", err)
	}
	for smtp, want := range map[string]string{kept: "stopped", taken: "node-1"} {
		rec, err := s.Mailbox(t.Context(), smtp)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status.State != want {
			t.Errorf("status of %s = %q, want %q", smtp, rec.Status.State, want)
		}
	}
}
