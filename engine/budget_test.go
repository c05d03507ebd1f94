package engine

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

func TestWindowAt(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	tests := []struct {
		name       string
		cfg        WindowConfig
		now        time.Time
		loc        *time.Location
		start, end time.Time
	}{
		{"utc default", WindowConfig{DaysBefore: 1, DaysAfter: 14}, time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), nil,
			time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)},
		{"berlin midnight, winter", WindowConfig{DaysBefore: 1, DaysAfter: 0}, time.Date(2026, 1, 10, 23, 30, 0, 0, time.UTC), berlin,
			time.Date(2026, 1, 9, 23, 0, 0, 0, time.UTC), time.Date(2026, 1, 11, 23, 0, 0, 0, time.UTC)},
		{"across DST change", WindowConfig{DaysBefore: 1, DaysAfter: 1}, time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC), berlin,
			time.Date(2026, 3, 27, 23, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 22, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.DefaultTimeZone = time.UTC
			w := cfg.windowAt(tc.now, tc.loc)
			if !w.Start.Equal(tc.start) || !w.End.Equal(tc.end) {
				t.Errorf("windowAt(%s) = [%s, %s), want [%s, %s)", tc.now, w.Start, w.End, tc.start, tc.end)
			}
		})
	}
	if got, want := nextRoll(time.Date(2026, 1, 10, 22, 0, 0, 0, time.UTC), berlin), time.Date(2026, 1, 10, 23, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("nextRoll = %s, want %s", got, want)
	}
}

func TestSemaphoreLimitAndCancel(t *testing.T) {
	s := newSemaphore(2)
	ctx := context.Background()
	if err := s.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.acquire(cctx); err == nil {
		t.Fatalf("third acquire on a limit of 2 succeeded")
	}
	s.setLimit(3)
	if err := s.acquire(ctx); err != nil {
		t.Fatalf("acquire after raising the limit: %v", err)
	}
	s.release()
	s.release()
	s.release()
	if !s.idle() {
		t.Errorf("semaphore not idle after releasing everything")
	}
}

func TestBudgetBoundsConcurrency(t *testing.T) {
	m, _ := newMetrics(nil)
	b := newBudget(clock.Real{}, BudgetConfig{Concurrency: 4, PerServer: 3, PerUser: 1, RequestsPerSecond: -1, MaxBackOff: time.Second, ThrottlePause: time.Millisecond}, m, slog.New(slog.DiscardHandler))
	var inflight, maxSeen, maxUser atomic.Int32
	var perUser sync.Map
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := []string{"a", "b", "c", "d", "e"}[i%5]
			_ = b.do(context.Background(), user, "srv", time.Second, func(context.Context) error {
				n := inflight.Add(1)
				for {
					old := maxSeen.Load()
					if n <= old || maxSeen.CompareAndSwap(old, n) {
						break
					}
				}
				v, _ := perUser.LoadOrStore(user, new(atomic.Int32))
				if u := v.(*atomic.Int32).Add(1); u > maxUser.Load() {
					maxUser.Store(u)
				}
				time.Sleep(time.Millisecond) // simulated request duration
				v.(*atomic.Int32).Add(-1)
				inflight.Add(-1)
				return nil
			})
		}()
	}
	wg.Wait()
	if maxSeen.Load() > 3 {
		t.Errorf("max in flight = %d, want ≤ 3 (per-server bound)", maxSeen.Load())
	}
	if maxUser.Load() > 1 {
		t.Errorf("max in flight per user = %d, want ≤ 1", maxUser.Load())
	}
}

func TestBudgetThrottling(t *testing.T) {
	m, _ := newMetrics(nil)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newBudget(clk, BudgetConfig{Concurrency: 8, PerServer: 8, PerUser: 2, RequestsPerSecond: -1, MaxBackOff: time.Minute, ThrottlePause: time.Second}, m, slog.New(slog.DiscardHandler))
	busy := &ExchangeError{Code: "ErrorServerBusy", BackOff: 30 * time.Second}
	_ = b.do(context.Background(), "alice", "srv", time.Second, func(context.Context) error { return busy })
	b.mu.Lock()
	userUntil, serverUntil := b.userPause["alice"], b.serverPause["srv"]
	b.mu.Unlock()
	if want := clk.Now().Add(30 * time.Second); !userUntil.Equal(want) {
		t.Errorf("user pause until %s, want %s (BackOffMilliseconds honoured)", userUntil, want)
	}
	if want := clk.Now().Add(time.Second); !serverUntil.Equal(want) {
		t.Errorf("server pause until %s, want %s", serverUntil, want)
	}
	// A call for alice waits until the back-off has passed.
	done := make(chan struct{})
	go func() {
		_ = b.do(context.Background(), "alice", "srv", time.Second, func(context.Context) error { return nil })
		close(done)
	}()
	testenv.WaitFor(t, "the paused call to wait on a timer", func() bool { return clk.PendingTimers() > 0 })
	if isClosed(done) {
		t.Fatal("call ran during the back-off")
	}
	clk.Advance(31 * time.Second)
	testenv.WaitFor(t, "the paused call to run", func() bool { return isClosed(done) })
	// ErrorExceededConnectionCount halves parallelism; success restores it slowly.
	_ = b.do(context.Background(), "bob", "srv", time.Second, func(context.Context) error {
		return &ExchangeError{Code: "ErrorExceededConnectionCount"}
	})
	if got := b.parallelism(); got != 4 {
		t.Errorf("parallelism after ErrorExceededConnectionCount = %d, want 4", got)
	}
	clk.Advance(31 * time.Second)
	_ = b.do(context.Background(), "bob", "srv", time.Second, func(context.Context) error { return nil })
	if got := b.parallelism(); got != 5 {
		t.Errorf("parallelism after 30 s of success = %d, want 5", got)
	}
	// HTTP 503 pauses everything.
	_ = b.do(context.Background(), "carol", "other", time.Second, func(context.Context) error {
		return &ExchangeError{Code: "HTTP503", HTTPStatus: 503}
	})
	b.mu.Lock()
	global := b.pausedUntil
	b.mu.Unlock()
	if want := clk.Now().Add(time.Second); !global.Equal(want) {
		t.Errorf("global pause until %s, want %s", global, want)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want action
	}{
		{&ExchangeError{Code: "ErrorSubscriptionNotFound"}, actResubscribe},
		{&ExchangeError{Code: "ErrorMissedNotificationEvents"}, actResubscribe},
		{&ExchangeError{Code: "ErrorInvalidWatermark"}, actResubscribe},
		{&ExchangeError{Code: "ErrorMailboxMoveInProgress"}, actMoving},
		{&ExchangeError{Code: "ErrorServerBusy"}, actThrottled},
		{&ExchangeError{Code: "ErrorExceededConnectionCount"}, actLessParallel},
		{&ExchangeError{Code: "HTTP401"}, actAuth},
		{&ExchangeError{Code: "ErrorImpersonateUserDenied"}, actDenied},
		{&ExchangeError{Code: "ErrorInvalidSyncStateData"}, actResync},
		{context.Canceled, actStop},
		{context.DeadlineExceeded, actRetry},
		{&ExchangeError{Code: "ErrorSomethingNew"}, actRetry},
	}
	for _, tc := range tests {
		if got := classify(tc.err).act; got != tc.want {
			t.Errorf("classify(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestMetricsShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	m1, err := newMetrics(reg)
	if err != nil {
		t.Fatalf("first newMetrics: %v", err)
	}
	m2, err := newMetrics(reg)
	if err != nil {
		t.Fatalf("second newMetrics on the same registry: %v", err)
	}
	m2.commits.Inc()
	if m1.commits != m2.commits {
		t.Errorf("second engine got its own commits counter; want the registered one")
	}
}

// TestProbeDoesNotWaitInAUserPause: while the credential gate waits for a
// probe, a request of a mailbox in a throttling pause must not become the
// probe and hold every other request back for the pause.
func TestProbeDoesNotWaitInAUserPause(t *testing.T) {
	m, _ := newMetrics(nil)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newBudget(clk, BudgetConfig{Concurrency: 8, PerServer: 8, PerUser: 2, RequestsPerSecond: -1, MaxBackOff: 10 * time.Minute, ThrottlePause: time.Second}, m, slog.New(slog.DiscardHandler))
	b.mu.Lock()
	b.userPause["alice"] = clk.Now().Add(5 * time.Minute) // the gate is still unverified
	b.mu.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel() // ends alice's wait
	go func() {
		_ = b.do(ctx, "alice", "srv", time.Second, func(context.Context) error { return nil })
	}()
	testenv.WaitFor(t, "alice waiting in her pause", func() bool { return clk.PendingTimers() == 1 })
	done := make(chan error, 1)
	go func() {
		done <- b.do(context.Background(), "bob", "srv", time.Second, func(context.Context) error { return nil })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("bob's request: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("bob's request waited for alice's 5-minute throttling pause")
	}
}
