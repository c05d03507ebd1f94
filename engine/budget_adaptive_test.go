package engine

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// round feeds one full window of answers, each after rtt, and returns the
// instant after it.
func round(a *adaptiveLimit, now time.Time, rtt time.Duration) time.Time {
	n := a.current()
	for range n {
		now = now.Add(rtt / time.Duration(n))
		a.success(now, rtt, n)
	}
	return now
}

func TestAdaptiveLimitRisesWhileAnswersAreFast(t *testing.T) {
	a := newAdaptiveLimit(100) // more than the default policy allows
	start := a.current()
	now := t0
	seen := 0
	for range 500 {
		now = round(a, now, 20*time.Millisecond)
		seen = max(seen, a.current())
	}
	if start >= exchangeDefaultMaxConcurrency {
		t.Fatalf("start limit %d, want a gentle start below the ceiling", start)
	}
	if seen != exchangeDefaultMaxConcurrency {
		t.Errorf("highest limit while answers stay fast = %d, want EWSMaxConcurrency %d (never more)", seen, exchangeDefaultMaxConcurrency)
	}
	b := newAdaptiveLimit(10)
	for range 500 {
		now = round(b, now, 20*time.Millisecond)
	}
	if got := b.current(); got != 10 {
		t.Errorf("limit with a configured maximum of 10 = %d, want 10", got)
	}
}

func TestAdaptiveLimitDoesNotRiseWhenIdle(t *testing.T) {
	a := newAdaptiveLimit(27)
	start := a.current()
	now := t0
	for range 1000 {
		now = now.Add(20 * time.Millisecond)
		a.success(now, 20*time.Millisecond, 1) // one request at a time
	}
	if got := a.current(); got != start {
		t.Errorf("limit after 1,000 lone requests = %d, want the start %d (an unused limit teaches nothing)", got, start)
	}
}

func TestAdaptiveLimitBacksOffOnRisingLatency(t *testing.T) {
	a := newAdaptiveLimit(27)
	now := t0
	for range 500 {
		now = round(a, now, 20*time.Millisecond)
	}
	high := a.current()
	for range 20 {
		now = round(a, now, 200*time.Millisecond) // ten times the minimum: queueing
	}
	if got := a.current(); got >= high/2 {
		t.Errorf("limit after round trips rose tenfold = %d, want well below %d", got, high)
	}
	// The server recovers: round trips near the minimum again.
	for range 500 {
		now = round(a, now, 20*time.Millisecond)
	}
	if got := a.current(); got != high {
		t.Errorf("limit after the server recovered = %d, want back at %d", got, high)
	}
}

func TestAdaptiveLimitHalvesOncePerRoundTripOnThrottling(t *testing.T) {
	a := newAdaptiveLimit(27)
	now := t0
	for range 500 {
		now = round(a, now, 20*time.Millisecond)
	}
	if got := a.throttled(now); got != 13 {
		t.Fatalf("limit after ErrorServerBusy at 27 = %d, want 13", got)
	}
	// Answers to requests sent before the decrease, in the same round trip.
	if got := a.throttled(now.Add(time.Millisecond)); got != 13 {
		t.Errorf("second throttling answer of the same round trip: limit %d, want still 13", got)
	}
	now = now.Add(time.Second)
	if got := a.throttled(now); got != 6 {
		t.Errorf("throttling after a round trip: limit %d, want 6", got)
	}
	for range 10 {
		now = now.Add(time.Second)
		a.throttled(now)
	}
	if got := a.current(); got != 1 {
		t.Errorf("limit under persistent throttling = %d, want the floor 1", got)
	}
	for range 1000 {
		now = round(a, now, 20*time.Millisecond)
	}
	if got := a.current(); got != exchangeDefaultMaxConcurrency {
		t.Errorf("limit after the throttling ended = %d, want back at %d", got, exchangeDefaultMaxConcurrency)
	}
}

// TestAdaptiveBudgetHonoursBackOff: in the default (adaptive) mode an
// ErrorServerBusy shrinks the window and still pauses the mailbox for the
// full BackOffMilliseconds.
func TestAdaptiveBudgetHonoursBackOff(t *testing.T) {
	m, _ := newMetrics(nil)
	clk := clock.NewFake(t0)
	b := newBudget(clk, BudgetConfig{Concurrency: 27, PerServer: 27, PerUser: 2, MaxBackOff: time.Minute, ThrottlePause: time.Second}, m, slog.New(slog.DiscardHandler))
	if b.adaptive == nil {
		t.Fatal("RequestsPerSecond 0 did not select the adaptive limiter")
	}
	b.adaptive.limit = 20 // as if it had risen
	b.global.setLimit(20)
	busy := &ExchangeError{Code: "ErrorServerBusy", BackOff: 30 * time.Second}
	_ = b.do(context.Background(), "alice", "srv", time.Second, func(context.Context) error { return busy })
	if got := b.parallelism(); got != 10 {
		t.Errorf("parallelism after ErrorServerBusy at 20 = %d, want 10", got)
	}
	done := make(chan struct{})
	go func() {
		_ = b.do(context.Background(), "alice", "srv", time.Second, func(context.Context) error { return nil })
		close(done)
	}()
	testenv.WaitFor(t, "the paused call to wait on a timer", func() bool { return clk.PendingTimers() > 0 })
	clk.Advance(29 * time.Second)
	if isClosed(done) {
		t.Fatal("call ran before BackOffMilliseconds had passed")
	}
	clk.Advance(2 * time.Second)
	testenv.WaitFor(t, "the paused call to run", func() bool { return isClosed(done) })
	// HTTP 503 also shrinks the window (after the hold of one round trip).
	clk.Advance(time.Second)
	_ = b.do(context.Background(), "bob", "srv", time.Second, func(context.Context) error {
		return &ExchangeError{Code: "HTTP503", HTTPStatus: 503}
	})
	if got := b.parallelism(); got != 5 {
		t.Errorf("parallelism after HTTP 503 at 10 = %d, want 5", got)
	}
}

// TestAdaptiveBudgetNeverExceedsThePolicy: however fast the answers and
// however high max_concurrency, no more than EWSMaxConcurrency requests are
// in flight.
func TestAdaptiveBudgetNeverExceedsThePolicy(t *testing.T) {
	m, _ := newMetrics(nil)
	clk := clock.NewFake(t0) // every round trip measures 0: always "fast"
	b := newBudget(clk, BudgetConfig{Concurrency: 100, PerServer: 100, PerUser: 10, MaxBackOff: time.Minute, ThrottlePause: time.Second}, m, slog.New(slog.DiscardHandler))
	var inflight, maxSeen atomic.Int32
	var wg sync.WaitGroup
	for i := range 2000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = b.do(context.Background(), string(rune('a'+i%200)), "srv", time.Second, func(context.Context) error {
				n := inflight.Add(1)
				for old := maxSeen.Load(); n > old && !maxSeen.CompareAndSwap(old, n); old = maxSeen.Load() {
				}
				inflight.Add(-1)
				return nil
			})
		}()
	}
	wg.Wait()
	if got := maxSeen.Load(); got > exchangeDefaultMaxConcurrency {
		t.Errorf("max in flight = %d, want ≤ %d", got, exchangeDefaultMaxConcurrency)
	}
	if got := b.parallelism(); got > exchangeDefaultMaxConcurrency {
		t.Errorf("limit = %d, want ≤ %d", got, exchangeDefaultMaxConcurrency)
	}
}

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
