package connectors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

// fakeTarget records updates; fail decides an update's error and gate,
// when set, blocks each update until it is closed.
type fakeTarget struct {
	mu          sync.Mutex
	calls       []Update
	inflight    map[string]bool
	maxInflight int
	overlap     string // a user updated twice at once
	fail        func(Update) error
	refreshIn   time.Duration
	clk         clock.Clock
	gate        chan struct{}
	held        []string
}

func newFakeTarget(clk clock.Clock) *fakeTarget {
	return &fakeTarget{inflight: map[string]bool{}, clk: clk}
}

func (f *fakeTarget) Publish(ctx context.Context, u Update) (time.Time, error) {
	f.mu.Lock()
	if f.inflight[u.User] {
		f.overlap = u.User
	}
	f.inflight[u.User] = true
	f.maxInflight = max(f.maxInflight, len(f.inflight))
	gate, fail := f.gate, f.fail
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	var err error
	if fail != nil {
		err = fail(u)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.inflight, u.User)
	f.calls = append(f.calls, u)
	var at time.Time
	if f.refreshIn > 0 && err == nil {
		at = f.clk.Now().Add(f.refreshIn)
	}
	return at, err
}

func (f *fakeTarget) Held() []string { return f.held }

func (f *fakeTarget) inFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.inflight)
}

func (f *fakeTarget) snapshot() []Update {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Update(nil), f.calls...)
}

func (f *fakeTarget) count(pred func(Update) bool) int {
	n := 0
	for _, u := range f.snapshot() {
		if pred(u) {
			n++
		}
	}
	return n
}

func startRunner(t *testing.T, opts Options) *Runner {
	t.Helper()
	r, err := NewRunner(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// Changes while a user's update is in flight are not sent alongside it;
// the latest one follows, the ones in between are skipped.
func TestRunnerLatestWinsOneAtATimePerUser(t *testing.T) {
	clk := clock.NewFake(t0)
	ft := newFakeTarget(clk)
	ft.gate = make(chan struct{})
	r := startRunner(t, Options{Target: ft, Clock: clk})
	r.Set("a@x", State{Availability: "busy"})
	testenv.WaitFor(t, "the first update in flight", func() bool { return r.Status().Queue == 1 && len(ft.snapshot()) == 0 && ft.inFlight() == 1 })
	r.Set("a@x", State{Availability: "tentative"})
	r.Set("a@x", State{Availability: "available"})
	close(ft.gate)
	testenv.WaitFor(t, "the latest state sent", func() bool {
		c := ft.snapshot()
		return len(c) > 0 && c[len(c)-1].State.Availability == "available"
	})
	c := ft.snapshot()
	if len(c) != 2 || c[0].State.Availability != "busy" {
		t.Fatalf("updates %+v, want busy then available", c)
	}
	if ft.overlap != "" {
		t.Fatalf("two updates of %s at once", ft.overlap)
	}
}

func TestRunnerBoundedConcurrency(t *testing.T) {
	clk := clock.NewFake(t0)
	ft := newFakeTarget(clk)
	ft.gate = make(chan struct{})
	r := startRunner(t, Options{Target: ft, Clock: clk, Concurrency: 5})
	for i := range 100 {
		r.Set(fmt.Sprintf("u%d@x", i), State{Availability: "busy"})
	}
	testenv.WaitFor(t, "five updates in flight", func() bool {
		return ft.inFlight() == 5
	})
	close(ft.gate)
	testenv.WaitFor(t, "all 100 sent", func() bool { return len(ft.snapshot()) == 100 })
	if ft.maxInflight != 5 {
		t.Fatalf("at most %d in flight, want 5", ft.maxInflight)
	}
	if st := r.Status(); st.Live != 100 || st.Queue != 0 {
		t.Fatalf("status %+v", st)
	}
}

// A target-wide failure stops sending: one probe per back-off, doubling;
// when a probe succeeds everyone is sent again with Resend.
func TestRunnerUnavailableProbesThenResendsAll(t *testing.T) {
	clk := clock.NewFake(t0)
	ft := newFakeTarget(clk)
	var mu sync.Mutex
	down := true
	ft.fail = func(Update) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return Unavailable(errors.New("server unreachable"))
		}
		return nil
	}
	r := startRunner(t, Options{Target: ft, Clock: clk, Concurrency: 1, RetryMin: time.Second})
	for i := range 20 {
		r.Set(fmt.Sprintf("u%d@x", i), State{Availability: "busy"})
	}
	testenv.WaitFor(t, "the runner to hold updates back", func() bool {
		st := r.Status()
		return st.Unavailable && st.Queue == 20 && len(ft.snapshot()) == 1
	})
	if st := r.Status(); st.Connected || st.LastError != "server unreachable" {
		t.Fatalf("status %+v", st)
	}
	clk.Advance(time.Second)
	testenv.WaitFor(t, "one probe after 1 s", func() bool { return len(ft.snapshot()) == 2 && r.Status().Queue == 20 })
	clk.Advance(time.Second)
	// The next probe is due 2 s after the first probe failed: nothing yet.
	if n := len(ft.snapshot()); n != 2 {
		t.Fatalf("%d updates before the doubled back-off ended, want 2", n)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	clk.Advance(time.Second)
	testenv.WaitFor(t, "everyone sent after the probe succeeded", func() bool { return r.Status().Queue == 0 && r.Status().Live == 20 })
	if n := ft.count(func(u Update) bool { return u.Resend }); n < 19 {
		t.Fatalf("%d updates with Resend after recovery, want every user's", n)
	}
	if !r.Status().Connected || r.Status().Unavailable {
		t.Fatalf("status %+v", r.Status())
	}
}

func TestRunnerRefreshesAndRetries(t *testing.T) {
	clk := clock.NewFake(t0)
	ft := newFakeTarget(clk)
	ft.refreshIn = 10 * time.Minute
	var mu sync.Mutex
	failures := 1
	ft.fail = func(u Update) error {
		mu.Lock()
		defer mu.Unlock()
		if u.User == "bad@x" && failures > 0 {
			failures--
			return errors.New("415 Unsupported Media Type")
		}
		return nil
	}
	r := startRunner(t, Options{Target: ft, Clock: clk, RetryMin: time.Second})
	r.Set("a@x", State{Availability: "busy"})
	r.Set("bad@x", State{Availability: "busy"})
	testenv.WaitFor(t, "both tried", func() bool { return len(ft.snapshot()) == 2 && r.Status().Queue == 0 })
	clk.Advance(time.Second)
	testenv.WaitFor(t, "the failed update retried", func() bool { return ft.count(func(u Update) bool { return u.User == "bad@x" }) == 2 })
	clk.Advance(10 * time.Minute)
	testenv.WaitFor(t, "both refreshed", func() bool { return ft.count(func(u Update) bool { return u.User == "a@x" }) == 2 })
}

// Users the target holds from an earlier run but not in the initial set
// are withdrawn; Remove withdraws and forgets.
func TestRunnerSeedAndRemove(t *testing.T) {
	clk := clock.NewFake(t0)
	ft := newFakeTarget(clk)
	ft.held = []string{"a@x", "gone@x"}
	r := startRunner(t, Options{Target: ft, Clock: clk, Initial: func(context.Context) (map[string]State, error) {
		return map[string]State{"a@x": {Availability: "busy"}}, nil
	}})
	testenv.WaitFor(t, "seeded", func() bool { return len(ft.snapshot()) == 2 && r.Status().Queue == 0 })
	if ft.count(func(u Update) bool { return u.User == "gone@x" && u.State == nil }) != 1 {
		t.Fatalf("updates %+v: gone@x not withdrawn", ft.snapshot())
	}
	r.Retain([]string{})
	testenv.WaitFor(t, "a withdrawn", func() bool { return r.Status().Users == 0 })
	if st := r.Status(); st.Live != 0 {
		t.Fatalf("status %+v", st)
	}
}
