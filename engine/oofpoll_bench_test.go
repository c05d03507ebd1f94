package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/calsync/calsync/store/memstore"
)

// BenchmarkOOFTipRound10000 runs the poller's requests for one round over
// 10,000 mailboxes (no workers run) at Exchange's usual limit of 50
// mailboxes per request and at 100, and reports the requests per round, the
// round's length at the default 60 s interval (stretched by the 2
// requests/s cap) and the resulting rate. Each changed tip costs one
// GetUserOofSettings on top.
//
//	go test -run XXX -bench OOFTipRound ./engine/
func BenchmarkOOFTipRound10000(b *testing.B) {
	for _, limit := range []int{50, 100} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			fx := &tipExchange{fakeExchange: newFakeExchange(), limit: limit, tips: map[string]string{}}
			e, err := New(Options{Store: memstore.New(), Exchange: fx, Budget: BudgetConfig{RequestsPerSecond: -1}})
			if err != nil {
				b.Fatal(err)
			}
			const n = 10000
			for i := range n {
				s := fmt.Sprintf("user%05d@example.org", i)
				e.workers[s] = &worker{wake: make(chan struct{}, 1)}
			}
			p := newOOFPoller(e)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				for _, batch := range chunk(p.mailboxes(), p.r.OOFTipLimit(ctx)) {
					p.poll(ctx, batch)
				}
			}
			b.StopTimer()
			requests, _ := fx.counts()
			perRound := float64(requests) / float64(b.N)
			b.ReportMetric(perRound, "GetMailTips/round")
			round := roundLength(time.Minute, int(perRound))
			b.ReportMetric(round.Seconds(), "s/round")
			b.ReportMetric(perRound/round.Seconds(), "GetMailTips/s")
		})
	}
}
