package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

// Every batch of a round goes out exactly once, in order, with the burst
// at its even-spread instant rounded down to 5 s; bursts are at least 5 s
// apart; batches due less often than every 5 s keep their own instants.
func TestPlanBurstsKeepsEachBatchInItsPlace(t *testing.T) {
	for _, tc := range []struct {
		n        int
		interval time.Duration
		bursts   int
	}{
		{n: 200, interval: time.Minute, bursts: 12},
		{n: 100, interval: time.Minute, bursts: 12},
		{n: 200, interval: 100 * time.Second, bursts: 20},
		{n: 3, interval: time.Minute, bursts: 3},
		{n: 1, interval: time.Minute, bursts: 1},
		{n: 7, interval: 100 * time.Millisecond, bursts: 1},
	} {
		bs := planBursts(tc.n, tc.interval, 5*time.Second)
		if len(bs) != tc.bursts {
			t.Errorf("%d batches in %s: %d bursts, want %d", tc.n, tc.interval, len(bs), tc.bursts)
		}
		next := 0
		for k, b := range bs {
			if b.from != next || b.to <= b.from {
				t.Fatalf("%d batches in %s: burst %d is [%d, %d), want it to start at %d", tc.n, tc.interval, k, b.from, b.to, next)
			}
			next = b.to
			if k > 0 && b.at-bs[k-1].at < 5*time.Second {
				t.Errorf("%d batches in %s: bursts %d and %d %s apart", tc.n, tc.interval, k-1, k, b.at-bs[k-1].at)
			}
			for i := b.from; i < b.to; i++ {
				even := time.Duration(i) * tc.interval / time.Duration(tc.n)
				if b.at > even || even-b.at >= 5*time.Second {
					t.Errorf("%d batches in %s: batch %d (due at %s) sent at %s", tc.n, tc.interval, i, even, b.at)
				}
			}
		}
		if next != tc.n {
			t.Errorf("%d batches in %s: bursts cover %d", tc.n, tc.interval, next)
		}
	}
}

// gatedTips holds every request until the test lets it go.
type gatedTips struct {
	*tipExchange
	release  chan struct{}
	gmu      sync.Mutex
	inFlight int
	most     int
}

func (x *gatedTips) OOFTips(ctx context.Context, smtps []string) ([]OOFTip, error) {
	x.gmu.Lock()
	x.inFlight++
	x.most = max(x.most, x.inFlight)
	x.gmu.Unlock()
	<-x.release
	x.gmu.Lock()
	x.inFlight--
	x.gmu.Unlock()
	return x.tipExchange.OOFTips(ctx, smtps)
}

func (x *gatedTips) flight() (now, most int) {
	x.gmu.Lock()
	defer x.gmu.Unlock()
	return x.inFlight, x.most
}

// A burst's requests are in flight together, never more than
// oofBurstParallel, and its answers are all taken: 800 mailboxes at 10
// per request in a minute are 80 requests due every 0.75 s, so each burst
// carries 7. (The first burst's first request is the credential gate's
// probe: it goes alone.)
func TestOOFPollBurstSendsItsRequestsTogether(t *testing.T) {
	fx := &gatedTips{tipExchange: &tipExchange{fakeExchange: newFakeExchange(), limit: 10, tips: map[string]string{}}, release: make(chan struct{})}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	fx.tips["user00085@example.org"] = "on||Away" // in the second burst
	e := runPoller(t, fx, clk, 800, time.Minute)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(fx.release) }) }) // before runPoller's: a failed test lets the poller end
	requests := func() int { n, _ := fx.counts(); return n }
	for range 7 {
		fx.release <- struct{}{}
	}
	testenv.WaitFor(t, "the first burst answered and the next one's timer armed", func() bool { return requests() == 7 && clk.PendingTimers() == 1 })
	clk.Advance(5 * time.Second)
	testenv.WaitFor(t, "the second burst's requests in flight together", func() bool { now, _ := fx.flight(); return now == oofBurstParallel })
	if w := woken(e); len(w) != 0 {
		t.Errorf("woken before the burst's answers came: %v", w)
	}
	for range 7 {
		fx.release <- struct{}{}
	}
	testenv.WaitFor(t, "the second burst answered", func() bool { return requests() == 14 && clk.PendingTimers() == 1 })
	if _, most := fx.flight(); most != oofBurstParallel {
		t.Errorf("at most %d requests in flight, want %d", most, oofBurstParallel)
	}
	if w := woken(e); len(w) != 1 || w[0] != "user00085@example.org" {
		t.Errorf("after the second burst, woken = %v, want the one mailbox whose replies are on", w)
	}
	once.Do(func() { close(fx.release) }) // the rest of the round goes through
	clk.Advance(time.Minute)
	testenv.WaitFor(t, "the round's 80 requests", func() bool { return requests() >= 80 })
}
