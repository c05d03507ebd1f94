package engine

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// A batch request's long round trip (the first load's zone batch) is no
// latency sample: after fast ordinary answers, a hundred slow batches
// leave the limit where it was; the same round trips unmarked cut it.
// A batch that is throttled still shrinks it.
func TestBatchRoundTripsAreNoLatencySample(t *testing.T) {
	for _, tt := range []struct {
		name      string
		mark      bool
		wantLower bool
	}{{"marked", true, false}, {"unmarked", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newMetrics(nil)
			clk := clock.NewFake(t0)
			b := newBudget(clk, BudgetConfig{Concurrency: 27, PerServer: 27, PerUser: 27, MaxBackOff: time.Minute, ThrottlePause: time.Second}, m, slog.New(slog.DiscardHandler))
			call := func(ctx context.Context, rtt time.Duration) {
				_ = b.do(ctx, "alice", "srv", time.Minute, func(context.Context) error { clk.Advance(rtt); return nil })
			}
			for range 20 {
				call(context.Background(), 2*time.Millisecond)
			}
			before := b.parallelism()
			ctx := context.Background()
			if tt.mark {
				ctx = withoutLatencySample(ctx)
			}
			for range 100 {
				call(ctx, 300*time.Millisecond)
			}
			if lower := b.parallelism() < before; lower != tt.wantLower {
				t.Errorf("limit %d → %d after 100 slow batches, lower = %v, want %v", before, b.parallelism(), lower, tt.wantLower)
			}
		})
	}
	m, _ := newMetrics(nil)
	b := newBudget(clock.NewFake(t0), BudgetConfig{Concurrency: 27, PerServer: 27, PerUser: 2, MaxBackOff: time.Minute, ThrottlePause: time.Second}, m, slog.New(slog.DiscardHandler))
	b.adaptive.limit = 20
	b.global.setLimit(20)
	_ = b.do(withoutLatencySample(context.Background()), "alice", "srv", time.Second, func(context.Context) error {
		return &ExchangeError{Code: "ErrorServerBusy"}
	})
	if got := b.parallelism(); got != 10 {
		t.Errorf("limit after a throttled batch at 20 = %d, want 10", got)
	}
}
