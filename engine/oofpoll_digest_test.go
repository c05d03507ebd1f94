package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// readCountingStore counts each mailbox's record reads (Store.Mailbox).
type readCountingStore struct {
	store.Store
	mu    sync.Mutex
	reads map[string]int
}

func newReadCountingStore(st store.Store) *readCountingStore {
	return &readCountingStore{Store: st, reads: map[string]int{}}
}

func (s *readCountingStore) Mailbox(ctx context.Context, smtp string) (store.MailboxRecord, error) {
	s.mu.Lock()
	s.reads[smtp]++
	s.mu.Unlock()
	return s.Store.Mailbox(ctx, smtp)
}

func (s *readCountingStore) readsOf(smtp string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[smtp]
}

// tipChanges is how many tips woke their worker (oof_tip_changes_total).
func (h *harness) tipChanges() float64 {
	var m dto.Metric
	if err := h.e.metrics.oofChanges.Write(&m); err != nil {
		h.t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// pollOneTipPerRound starts a pull-mode engine on a fake clock that polls
// one mailbox per GetMailTips, a round a minute.
func pollOneTipPerRound(t *testing.T, fx *tipExchange, st store.Store, clk *clock.Fake, mbs ...string) *harness {
	t.Helper()
	h := start(t, fx.fakeExchange, st, mbs, func(o *Options) {
		o.Exchange = fx
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = -1
	})
	for _, m := range mbs {
		h.waitState(m, StateLive)
	}
	return h
}

// A first tip is compared with the settings the worker last stored, kept
// in memory when it stored them: a tip that matches them wakes no worker,
// one that differs wakes it, and neither reads the mailbox's record from
// the store (only each worker's start does).
func TestOOFFirstTipComparedWithTheSettingsTheWorkerStored(t *testing.T) {
	const a, b, c = "a@example.org", "b@example.org", "c@example.org"
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 1, tips: map[string]string{}}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	mem := memstore.New()
	st := newReadCountingStore(mem)
	// Three mailboxes, one per request: a's tip goes out at the round's
	// start, b's 20 s later, c's 40 s later.
	h := pollOneTipPerRound(t, fx, st, clk, a, b, c)
	testenv.WaitFor(t, "a's first tip", func() bool { n, _ := fx.counts(); return n == 1 })

	// b's replies are switched on and b's worker reads and stores them
	// (a manual sync) before the poller first sees b.
	fx.mu.Lock()
	fx.oof = calendar.OOFEnabled
	fx.mu.Unlock()
	fx.tmu.Lock()
	fx.tips[b] = "on||Away"
	fx.tips[c] = "on||Away" // c's are on too, but c's worker never read them
	fx.tmu.Unlock()
	if err := h.e.SyncNow(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if rec, err := mem.Mailbox(context.Background(), b); err != nil || rec.OOF == nil || rec.OOF.State != calendar.OOFEnabled {
		t.Fatalf("b's stored settings after the manual sync = %+v, %v; want enabled", rec.OOF, err)
	}
	readsB, readsC := fx.countFor("OOF", b), fx.countFor("OOF", c)

	clk.Advance(20 * time.Second) // b's first tip: on, as stored
	testenv.WaitFor(t, "b's first tip", func() bool { n, _ := fx.counts(); return n == 2 })
	clk.Advance(20 * time.Second) // c's first tip: on, nothing stored
	testenv.WaitFor(t, "c's automatic replies read after its first tip", func() bool {
		rec, err := mem.Mailbox(context.Background(), c)
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	if got := h.tipChanges(); got != 1 {
		t.Errorf("tips that woke a worker = %v, want 1 (c's)", got)
	}
	if got := fx.countFor("OOF", b); got != readsB {
		t.Errorf("b: GetUserOofSettings = %d, want %d (its first tip matched what its worker stored)", got, readsB)
	}
	if got := fx.countFor("OOF", c); got != readsC+1 {
		t.Errorf("c: GetUserOofSettings = %d, want %d", got, readsC+1)
	}
	for _, m := range []string{b, c} {
		if got := st.readsOf(m); got != 1 {
			t.Errorf("%s: %d reads of the stored record, want 1 (its worker's start)", m, got)
		}
	}
}

// After a restart the settings a first tip is compared with come from the
// store, read once by each worker at its start: a mailbox whose replies
// were on and stored before the restart is not read again, and the poller
// reads no record of its own.
func TestOOFSettingsKeptFromTheStoreAfterARestart(t *testing.T) {
	const a, b = "a@example.org", "b@example.org"
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 1, tips: map[string]string{b: "on||Away"}}
	fx.oof = calendar.OOFEnabled
	mem := memstore.New()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	h := pollOneTipPerRound(t, fx, mem, clk, a, b)
	clk.Advance(30 * time.Second) // b's first tip: on, nothing stored yet
	testenv.WaitFor(t, "b's automatic replies stored before the restart", func() bool {
		rec, err := mem.Mailbox(context.Background(), b)
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	h.stop()

	readsB := fx.countFor("OOF", b)
	st := newReadCountingStore(mem)
	clk2 := clock.NewFake(clk.Now())
	h2 := pollOneTipPerRound(t, fx, st, clk2, a, b)
	testenv.WaitFor(t, "a's first tip after the restart", func() bool { n, _ := fx.counts(); return n >= 3 })
	clk2.Advance(30 * time.Second) // b's first tip after the restart: on, as stored
	testenv.WaitFor(t, "b's first tip after the restart", func() bool { n, _ := fx.counts(); return n >= 4 })
	clk2.Advance(30 * time.Second) // the next round: b's tip has been compared
	testenv.WaitFor(t, "the next round", func() bool { n, _ := fx.counts(); return n >= 5 })
	if got := h2.tipChanges(); got != 0 {
		t.Errorf("tips that woke a worker after the restart = %v, want 0", got)
	}
	if got := fx.countFor("OOF", b) - readsB; got != 0 {
		t.Errorf("b: %d GetUserOofSettings after the restart, want 0 (its stored settings match its tip)", got)
	}
	if got := st.readsOf(b); got != 1 {
		t.Errorf("b: %d reads of the stored record after the restart, want 1 (its worker's start)", got)
	}
}
