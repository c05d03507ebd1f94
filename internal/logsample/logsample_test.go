package logsample_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/logsample"
	"github.com/calsync/calsync/internal/testenv"
)

// summaries records what the summary function was called with.
type summaries struct {
	mu    sync.Mutex
	calls []string
	count map[string]int
	note  map[string]any
}

func (s *summaries) add(key string, n int, note any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, key)
	s.count[key] += n
	s.note[key] = note
}

func (s *summaries) get(key string) (calls, count int, note any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.calls {
		if k == key {
			calls++
		}
	}
	return calls, s.count[key], s.note[key]
}

func newSampler(t *testing.T) (*logsample.Sampler[string], *clock.Fake, *summaries) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	sum := &summaries{count: map[string]int{}, note: map[string]any{}}
	return logsample.New(clk, 3, time.Minute, sum.add), clk, sum
}

// TestBurstThenOneSummary: per key, the first burst failures are let
// through, the rest are counted and summed up once when the window ends,
// with the note of the window's first failure; other keys are independent.
func TestBurstThenOneSummary(t *testing.T) {
	s, clk, sum := newSampler(t)
	ctx := context.Background()
	let := 0
	for i := range 10 {
		if s.Sample(ctx, "HTTP401", i) {
			let++
		}
	}
	if !s.Sample(ctx, "NetworkError", "other") {
		t.Error("the first failure of another key was held back")
	}
	if let != 3 {
		t.Errorf("%d of 10 failures let through, want the burst of 3", let)
	}
	if calls, _, _ := sum.get("HTTP401"); calls != 0 {
		t.Fatal("summary written before the window ended")
	}
	clk.Advance(time.Minute)
	testenv.WaitFor(t, "the summary at the end of the window", func() bool {
		calls, _, _ := sum.get("HTTP401")
		return calls == 1
	})
	if _, n, note := sum.get("HTTP401"); n != 7 || note != 0 {
		t.Errorf("summary counted %d with note %v, want 7 with the first failure's note 0", n, note)
	}
	if calls, _, _ := sum.get("NetworkError"); calls != 0 {
		t.Error("a key with nothing held back got a summary")
	}
	// A new window lets a burst through again.
	if !s.Sample(ctx, "HTTP401", 99) {
		t.Error("the first failure of a new window was held back")
	}
}

// TestNextWindowWritesTheSummaryOnce: a failure after the window's end
// writes the held-back count at once; the window's timer does not write it
// a second time.
func TestNextWindowWritesTheSummaryOnce(t *testing.T) {
	s, clk, sum := newSampler(t)
	ctx := context.Background()
	for range 5 {
		s.Sample(ctx, "k", nil)
	}
	clk.Set(clk.Now().Add(2 * time.Minute)) // fires the timer too
	s.Sample(ctx, "k", nil)
	testenv.WaitFor(t, "the summary of the first window", func() bool {
		_, n, _ := sum.get("k")
		return n == 2
	})
	// Let any second writer run: the new window has nothing held back, so
	// only a double summary could change the figures.
	clk.Advance(5 * time.Minute)
	s.Sample(ctx, "other", nil)
	if calls, n, _ := sum.get("k"); calls != 1 || n != 2 {
		t.Errorf("summaries of k: %d calls counting %d, want 1 call counting 2", calls, n)
	}
}

// TestCancelledContextWritesNoSummary: the summary timer ends with its
// context (the service stopping) instead of writing after it.
func TestCancelledContextWritesNoSummary(t *testing.T) {
	s, clk, sum := newSampler(t)
	ctx, cancel := context.WithCancel(context.Background())
	for range 4 {
		s.Sample(ctx, "k", nil)
	}
	testenv.WaitFor(t, "the summary timer", func() bool { return clk.PendingTimers() == 1 })
	cancel()
	testenv.WaitFor(t, "the timer goroutine to end", func() bool { return clk.PendingTimers() == 0 })
	clk.Advance(time.Minute)
	if calls, _, _ := sum.get("k"); calls != 0 {
		t.Error("a summary was written after the context ended")
	}
}
