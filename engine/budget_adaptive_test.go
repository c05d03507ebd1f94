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

// fixedLag is a lag probe that answers what the test says.
type fixedLag struct {
	mu  sync.Mutex
	lag time.Duration
	ok  bool
}

func (f *fixedLag) set(lag time.Duration, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lag, f.ok = lag, ok
}

func (f *fixedLag) recent() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lag, f.ok
}

// risen returns a limiter with lag probe f that has risen to the policy's
// maximum on 20 ms answers, and the instant after.
func risen(t *testing.T, f *fixedLag) (*adaptiveLimit, time.Time) {
	t.Helper()
	a := newAdaptiveLimit(27)
	a.localLag = f.recent
	now := t0
	for range 500 {
		now = round(a, now, 20*time.Millisecond)
	}
	if got := a.current(); got != exchangeDefaultMaxConcurrency {
		t.Fatalf("limit after fast answers = %d, want %d", got, exchangeDefaultMaxConcurrency)
	}
	return a, now
}

// TestAdaptiveLimitKeepsAFloorWhileTheHostIsStarved: round trips rising
// tenfold while this process's goroutines wake up 10 ms late (a host with
// too few CPUs for its load) cut the limit only to the floor; a throttling
// signal from Exchange still cuts below it.
func TestAdaptiveLimitKeepsAFloorWhileTheHostIsStarved(t *testing.T) {
	f := &fixedLag{lag: 10 * time.Millisecond, ok: true}
	a, now := risen(t, f)
	for range 50 {
		now = round(a, now, 200*time.Millisecond)
	}
	if got := a.current(); got != starvedFloor {
		t.Errorf("limit after slow answers on a starved host = %d, want the floor %d", got, starvedFloor)
	}
	// Exchange says it is busy: the floor no longer holds.
	a, now = risen(t, f)
	if got := a.throttled(now); got != 13 {
		t.Errorf("limit after ErrorServerBusy at 27 = %d, want 13", got)
	}
	for range 50 {
		now = round(a, now, 200*time.Millisecond)
	}
	if got := a.current(); got >= starvedFloor {
		t.Errorf("limit after slow answers within a minute of a throttling signal = %d, want below the floor %d", got, starvedFloor)
	}
}

// TestAdaptiveLimitCutsBelowTheFloorWhenTheLagDoesNotExplainIt: a host
// that wakes its goroutines promptly, or a lag small against the round
// trip, leaves rising round trips to Exchange: the limit goes below the
// floor.
func TestAdaptiveLimitCutsBelowTheFloorWhenTheLagDoesNotExplainIt(t *testing.T) {
	for _, lag := range []time.Duration{
		100 * time.Microsecond, // a host with CPU to spare
		4 * time.Millisecond,   // above 1 ms but under a quarter of the 20 ms minimum
	} {
		f := &fixedLag{lag: lag, ok: true}
		a, now := risen(t, f)
		for range 50 {
			now = round(a, now, 200*time.Millisecond)
		}
		if got := a.current(); got >= starvedFloor {
			t.Errorf("lag %v: limit after slow answers = %d, want below the floor %d", lag, got, starvedFloor)
		}
	}
}

// TestAdaptiveLimitWaitsForTheLagMeasurement: while the probe has not
// measured yet, slow answers neither cut nor raise the limit.
func TestAdaptiveLimitWaitsForTheLagMeasurement(t *testing.T) {
	f := &fixedLag{}
	a, now := risen(t, f)
	for range 20 {
		now = round(a, now, 200*time.Millisecond)
	}
	if got := a.current(); got != exchangeDefaultMaxConcurrency {
		t.Errorf("limit while the lag is unknown = %d, want unchanged %d", got, exchangeDefaultMaxConcurrency)
	}
	f.set(0, true)
	for range 50 {
		now = round(a, now, 200*time.Millisecond)
	}
	if got := a.current(); got >= starvedFloor {
		t.Errorf("limit once the lag is known to be 0 = %d, want below the floor %d", got, starvedFloor)
	}
}

// TestLagProbeRunsOnlyWhileAsked: the probe's goroutine starts with the
// first question, has a measurement after its warm-up and ends when
// nobody asks any more, so an idle engine has no extra wake-ups.
func TestLagProbeRunsOnlyWhileAsked(t *testing.T) {
	p := newLagProbe(time.Millisecond, 2*lagWarmUp)
	if _, ok := p.recent(); ok {
		t.Fatal("a probe that has just started reported a measurement")
	}
	// Asked once, it runs idleStop probes: more than its warm-up.
	testenv.WaitFor(t, "the unasked probe to stop", func() bool { return !p.isRunning() })
	p.mu.Lock()
	samples := p.samples
	p.mu.Unlock()
	if samples < lagWarmUp {
		t.Errorf("the probe stopped after %d probes, want its warm-up %d at least", samples, lagWarmUp)
	}
	if _, ok := p.recent(); ok {
		t.Error("a restarted probe reported its old measurement as fresh")
	}
	testenv.WaitFor(t, "the restarted probe to stop", func() bool { return !p.isRunning() })
}

// TestOnlyRealRoundTripsAskTheLagProbe: the probe measures the real
// scheduler, so only a budget on the real clock consults it; round trips
// on an injected clock contain no scheduling lag.
func TestOnlyRealRoundTripsAskTheLagProbe(t *testing.T) {
	m, _ := newMetrics(nil)
	cfg := BudgetConfig{Concurrency: 10, PerServer: 8, PerUser: 2, MaxBackOff: time.Minute, ThrottlePause: time.Second}
	if b := newBudget(clock.Real{}, cfg, m, slog.New(slog.DiscardHandler)); b.adaptive.localLag == nil {
		t.Error("a budget on the real clock has no lag probe")
	}
	if b := newBudget(clock.NewFake(t0), cfg, m, slog.New(slog.DiscardHandler)); b.adaptive.localLag != nil {
		t.Error("a budget on an injected clock asks the real scheduler's lag")
	}
}
