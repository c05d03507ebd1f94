package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

// memoTipExchange answers OOFTipsSince like ewsexchange does: the memo
// names the request and its answer; an answer equal to the one since
// names comes back as (nil, since).
type memoTipExchange struct {
	*tipExchange
	mmu    sync.Mutex
	sinces []uint64 // since of every call, in order
	same   []bool   // whether each call's answer was the one since named
}

func (x *memoTipExchange) OOFTipsSince(ctx context.Context, smtps []string, since uint64) ([]OOFTip, uint64, error) {
	tips, err := x.OOFTips(ctx, smtps)
	x.mmu.Lock()
	defer x.mmu.Unlock()
	x.sinces = append(x.sinces, since)
	x.same = append(x.same, false)
	if err != nil {
		return nil, 0, err
	}
	h := fnv.New64a()
	for _, t := range tips {
		fmt.Fprintf(h, "%s\x00%s\x00%v\x00", t.SMTP, t.Fingerprint, t.Err)
	}
	memo := max(h.Sum64(), 1)
	if since != 0 && memo == since {
		x.same[len(x.same)-1] = true
		return nil, since, nil
	}
	return tips, memo, nil
}

func (x *memoTipExchange) calls() (sinces []uint64, same []bool) {
	x.mmu.Lock()
	defer x.mmu.Unlock()
	return append([]uint64(nil), x.sinces...), append([]bool(nil), x.same...)
}

// woken lists the mailboxes the poller told to read their automatic
// replies, and forgets that it did.
func woken(e *Engine) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for s, w := range e.workers {
		w.mu.Lock()
		if w.pending&trigOOF != 0 {
			out = append(out, s)
			w.pending &^= trigOOF
		}
		w.mu.Unlock()
	}
	return out
}

// While nobody's automatic replies change, every round after the first
// sends each batch with the memo of its last answer and gets "unchanged"
// back (ewsexchange then decodes nothing) and wakes nobody; a changed tip
// still wakes exactly its mailbox, and a mailbox removed and added again
// has its first tip compared with its stored settings.
func TestOOFPollSkipsAnswersItHasSeen(t *testing.T) {
	fx := &memoTipExchange{tipExchange: &tipExchange{fakeExchange: newFakeExchange(), limit: 10, tips: map[string]string{}}}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	const n = 25 // batches of 10, 10 and 5
	e := runPoller(t, fx, clk, n, time.Minute)
	requests := func() int { n, _ := fx.counts(); return n }
	parked := func(want int) bool { return requests() == want && clk.PendingTimers() == 1 }
	// round completes the current round (3 requests; its first went out
	// already), sends the next round's first request and returns the
	// memos the completed round was sent with and whether each answer
	// was the one its memo named.
	rounds := 0
	round := func() ([]uint64, []bool) {
		t.Helper()
		rounds++
		clk.Advance(time.Minute - time.Nanosecond)
		testenv.WaitFor(t, fmt.Sprintf("round %d's requests", rounds), func() bool { return parked(3 * rounds) })
		clk.Advance(time.Nanosecond)
		testenv.WaitFor(t, "the next round's first request", func() bool { return parked(3*rounds + 1) })
		sinces, same := fx.calls()
		return sinces[3*(rounds-1) : 3*rounds], same[3*(rounds-1) : 3*rounds]
	}
	testenv.WaitFor(t, "round 1's first request", func() bool { return parked(1) })
	round()
	sinces, same := round()
	for i := range sinces {
		if sinces[i] == 0 || !same[i] {
			t.Errorf("round 2, batch %d: memo %d, answer unchanged %v; want the memo of round 1's answer, unchanged", i, sinces[i], same[i])
		}
	}
	if w := woken(e); len(w) != 0 {
		t.Errorf("woken without a change: %v", w)
	}

	// Batch 1 of round 3 has not gone out yet.
	fx.tmu.Lock()
	fx.tips["user00012@example.org"] = "on||Away"
	fx.tmu.Unlock()
	if _, same := round(); !same[0] || same[1] || !same[2] {
		t.Errorf("round 3: answers unchanged %v, want all but batch 1's", same)
	}
	if w := woken(e); len(w) != 1 || w[0] != "user00012@example.org" {
		t.Errorf("after user00012's tip changed, woken = %v, want only it", w)
	}
	if _, same := round(); !same[0] || !same[1] || !same[2] {
		t.Errorf("round 4: answers unchanged %v, want all", same)
	}

	// user00003 leaves (from round 6 on: round 5 has begun), turns its
	// replies on while it is gone and comes back in round 8.
	e.mu.Lock()
	w3 := e.workers["user00003@example.org"]
	delete(e.workers, "user00003@example.org")
	e.mu.Unlock()
	fx.tmu.Lock()
	fx.tips["user00003@example.org"] = "on||Gone fishing"
	fx.tmu.Unlock()
	round()
	round()
	e.mu.Lock()
	e.workers["user00003@example.org"] = w3
	e.mu.Unlock()
	round()
	if sinces, _ := round(); sinces[0] != 0 {
		t.Errorf("the batch of a mailbox added again was sent with memo %d, want none (its first tip needs comparing)", sinces[0])
	}
	if w := woken(e); len(w) != 1 || w[0] != "user00003@example.org" {
		t.Errorf("after user00003 came back with replies on, woken = %v, want only it", w)
	}
}
