package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// deadlineStore checks the deadline each store write of a mailbox comes
// with: at least storeTimeout from the moment the mailbox's previous store
// call returned. A deadline shared with an earlier write gives the later
// one only what the earlier left, and on a starved machine that can be
// nothing.
type deadlineStore struct {
	store.Store

	mu       sync.Mutex
	returned map[string]time.Time // smtp → when its last write returned
	short    []string
	writes   int
}

func (s *deadlineStore) write(ctx context.Context, op, smtp string, fn func() error) error {
	s.mu.Lock()
	if dl, ok := ctx.Deadline(); ok && dl.Before(s.returned[smtp].Add(storeTimeout)) {
		s.short = append(s.short, fmt.Sprintf("%s of %s: deadline %s after the previous write returned, want ≥ %s",
			op, smtp, dl.Sub(s.returned[smtp]), storeTimeout))
	}
	s.writes++
	s.mu.Unlock()
	entered := time.Now()
	err := fn()
	for !time.Now().After(entered) { // a write takes time; make sure the clock shows some
	}
	s.mu.Lock()
	s.returned[smtp] = time.Now()
	s.mu.Unlock()
	return err
}

func (s *deadlineStore) CommitWindow(ctx context.Context, smtp string, c store.WindowCommit) error {
	return s.write(ctx, "CommitWindow", smtp, func() error { return s.Store.CommitWindow(ctx, smtp, c) })
}

func (s *deadlineStore) SaveOOF(ctx context.Context, smtp string, oof calendar.OOFSettings) error {
	return s.write(ctx, "SaveOOF", smtp, func() error { return s.Store.SaveOOF(ctx, smtp, oof) })
}

func (s *deadlineStore) SaveCheckpoint(ctx context.Context, smtp string, cp store.Checkpoint) error {
	return s.write(ctx, "SaveCheckpoint", smtp, func() error { return s.Store.SaveCheckpoint(ctx, smtp, cp) })
}

func (s *deadlineStore) SaveStatus(ctx context.Context, st store.MailboxStatus) error {
	return s.write(ctx, "SaveStatus", st.SMTP, func() error { return s.Store.SaveStatus(ctx, st) })
}

// TestEachStoreWriteHasItsOwnDeadline: the load's read commits the window
// (with the automatic-reply settings it read), and a refresh of the
// settings then stores them on their own; the second write must not
// inherit what is left of the first one's deadline (a loaded machine's
// group commit can use all of it, and the mailbox then failed with "save
// OOF: context deadline exceeded" although the store was fine).
func TestEachStoreWriteHasItsOwnDeadline(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "A", 1))
	st := &deadlineStore{Store: memstore.New(), returned: map[string]time.Time{}}
	h := start(t, fx, st, []string{"alice@example.org"}, func(o *Options) { o.OOFInterval = 10 * time.Millisecond })
	h.waitState("alice@example.org", StateLive)
	fx.setOOF(calendar.OOFEnabled) // the next refresh stores settings, after the window
	testenv.WaitFor(t, "automatic replies stored", func() bool {
		rec, err := st.Mailbox(context.Background(), "alice@example.org")
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	h.stop()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.writes < 2 {
		t.Fatalf("%d store writes seen, want the window's commit and the settings at least", st.writes)
	}
	for _, s := range st.short {
		t.Error(s)
	}
}
