package engine

// The mail-tip poller's requests go out in bursts. Spread evenly over the
// interval, 10,000 mailboxes at 50 per request made 200 lone requests a
// minute, and each woke an idle process from its sleep twice (to send,
// and for the answer) — the scheduler's work of waking threads and
// polling the network was a quarter of an idle engine's CPU. Sent
// together, a burst's requests share those wake-ups. Each batch still
// goes out once per interval at a fixed place in it, up to oofBurstEvery
// earlier than an even spread would send it, so the interval's promise
// holds; the server sees a few requests at once every few seconds instead
// of one every 300 ms.

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// oofBurstEvery is the shortest gap between two bursts.
	oofBurstEvery = 5 * time.Second
	// oofBurstParallel bounds a burst's requests in flight.
	oofBurstParallel = 4
)

// burst is the batches [from, to) of a round, sent at the round's start
// plus at.
type burst struct {
	from, to int
	at       time.Duration
}

// planBursts groups a round of n batches: batch i, due at
// i*interval/n when spread evenly, goes out with the burst at that
// instant rounded down to a multiple of every.
func planBursts(n int, interval, every time.Duration) []burst {
	var out []burst
	for i := range n {
		at := time.Duration(i) * interval / time.Duration(n)
		if every > 0 {
			at = at.Truncate(every)
		}
		if len(out) > 0 && out[len(out)-1].at == at {
			out[len(out)-1].to = i + 1
			continue
		}
		out = append(out, burst{from: i, to: i + 1, at: at})
	}
	return out
}

// pollBurst asks for the tips of a burst's batches, up to
// oofBurstParallel at a time, then takes the answers in order. It returns
// false when the server does not support the operation.
func (p *oofPoller) pollBurst(ctx context.Context, batches [][]string, memos []uint64) bool {
	answers := make([]tipAnswer, len(batches))
	if len(batches) == 1 {
		answers[0] = p.fetch(ctx, batches[0], &memos[0])
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(oofBurstParallel, len(batches)) {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < len(batches); i = int(next.Add(1) - 1) {
					answers[i] = p.fetch(ctx, batches[i], &memos[i])
				}
			})
		}
		wg.Wait()
	}
	for i, a := range answers {
		if !p.apply(ctx, batches[i], a, &memos[i]) {
			return false
		}
	}
	return true
}
