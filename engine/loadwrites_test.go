package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// writeCountingStore counts the writes of each mailbox's record and keeps
// the status each window commit carried.
type writeCountingStore struct {
	store.Store

	mu       sync.Mutex
	writes   map[string][]string // per mailbox, the write methods in order
	statuses map[string][]string // per mailbox, the state each commit carried ("" = none)
	batches  int                 // SaveStatuses calls
}

func (s *writeCountingStore) record(smtp, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writes == nil {
		s.writes, s.statuses = map[string][]string{}, map[string][]string{}
	}
	s.writes[smtp] = append(s.writes[smtp], what)
}

func (s *writeCountingStore) CommitWindow(ctx context.Context, smtp string, c store.WindowCommit) error {
	what := "CommitWindow"
	if c.OOF != nil {
		what += "+OOF"
	}
	s.record(smtp, what)
	state := ""
	if c.Status != nil {
		state = c.Status.State
	}
	s.mu.Lock()
	s.statuses[smtp] = append(s.statuses[smtp], state)
	s.mu.Unlock()
	return s.Store.CommitWindow(ctx, smtp, c)
}

func (s *writeCountingStore) SaveStatus(ctx context.Context, st store.MailboxStatus) error {
	s.record(st.SMTP, "SaveStatus")
	return s.Store.SaveStatus(ctx, st)
}

func (s *writeCountingStore) SaveStatuses(ctx context.Context, sts []store.MailboxStatus) error {
	for _, st := range sts {
		s.record(st.SMTP, "SaveStatuses")
	}
	s.mu.Lock()
	s.batches++
	s.mu.Unlock()
	return s.Store.SaveStatuses(ctx, sts)
}

func (s *writeCountingStore) SaveCheckpoint(ctx context.Context, smtp string, cp store.Checkpoint) error {
	s.record(smtp, "SaveCheckpoint")
	return s.Store.SaveCheckpoint(ctx, smtp, cp)
}

func (s *writeCountingStore) SaveOOF(ctx context.Context, smtp string, oof calendar.OOFSettings) error {
	s.record(smtp, "SaveOOF")
	return s.Store.SaveOOF(ctx, smtp, oof)
}

func (s *writeCountingStore) snapshot(smtp string) (writes, statuses []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes[smtp]...), append([]string(nil), s.statuses[smtp]...)
}

// A first load writes each mailbox once: the window commit carries the
// status that makes it live (a second write per mailbox was a fifth of
// the load's store CPU) and, as the fake polls no mail tips, the
// automatic replies the load read (they were a SaveOOF of their own after
// the commit), and what it stores is what the sink then hears.
func TestFirstLoadIsOneWritePerMailbox(t *testing.T) {
	const alice, bob = "alice@example.org", "bob@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "Standup", 1), occ("a2", "Review", 3))
	fx.put(bob, occ("b1", "Review", 2))
	st := &writeCountingStore{Store: memstore.New()}
	h := start(t, fx, st, []string{alice, bob}, nil)
	for smtp, n := range map[string]int{alice: 2, bob: 1} {
		h.waitState(smtp, StateLive)
		writes, statuses := st.snapshot(smtp)
		if fmt.Sprint(writes) != "[CommitWindow+OOF]" || fmt.Sprint(statuses) != "["+StateLive+"]" {
			t.Errorf("%s: writes before live %v (statuses carried %q), want one CommitWindow carrying the live status and the automatic replies", smtp, writes, statuses)
		}
		rec, err := st.Mailbox(context.Background(), smtp)
		if err != nil {
			t.Fatalf("%s: %v", smtp, err)
		}
		live, _ := h.e.Status(smtp)
		if rec.Status.State != StateLive || rec.Status.Occurrences != n || !rec.Status.LastVerified.Equal(live.LastVerified) {
			t.Errorf("%s: stored status %+v, want live with %d occurrences, verified at %s as the engine says", smtp, rec.Status, n, live.LastVerified)
		}
		if rec.OOF == nil || rec.OOF.State != calendar.OOFDisabled {
			t.Errorf("%s: stored automatic replies %+v, want the load's (disabled)", smtp, rec.OOF)
		}
	}
}

// A read that also reads the automatic replies stores them with its
// window when they changed, and not at all when they did not: one write
// per read either way.
func TestReadCommitsChangedAutomaticRepliesWithTheWindow(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "Standup", 1))
	st := &writeCountingStore{Store: memstore.New()}
	h := start(t, fx, st, []string{alice}, nil)
	h.waitState(alice, StateLive)
	ctx := context.Background()
	if err := h.e.SyncNow(ctx, alice); err != nil {
		t.Fatalf("SyncNow: %v", err)
	}
	fx.setOOF(calendar.OOFEnabled)
	if err := h.e.SyncNow(ctx, alice); err != nil {
		t.Fatalf("SyncNow: %v", err)
	}
	writes, _ := st.snapshot(alice)
	if want := "[CommitWindow+OOF CommitWindow CommitWindow+OOF]"; fmt.Sprint(writes) != want {
		t.Errorf("writes %v, want %s (load, unchanged replies, replies turned on)", writes, want)
	}
	rec, err := st.Mailbox(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if rec.OOF == nil || rec.OOF.State != calendar.OOFEnabled {
		t.Errorf("stored automatic replies %+v, want enabled", rec.OOF)
	}
}
