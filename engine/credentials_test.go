package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store/memstore"
)

var errRejected = &ExchangeError{Code: "HTTP401", Err: errors.New("401 Unauthorized")}

// gateCallers starts n goroutines that pass the gate; each sends whether
// it is the probe on the returned channel once it may go.
func gateCallers(ctx context.Context, g *credentialGate, n int) <-chan bool {
	out := make(chan bool, n)
	for range n {
		go func() {
			probe, err := g.wait(ctx)
			if err == nil {
				out <- probe
			}
		}()
	}
	return out
}

func expectNone(t *testing.T, ch <-chan bool, what string) {
	t.Helper()
	select {
	case p := <-ch:
		t.Fatalf("%s: a caller went (probe %v)", what, p)
	case <-time.After(50 * time.Millisecond):
	}
}

func expectOne(t *testing.T, ch <-chan bool, wantProbe bool, what string) {
	t.Helper()
	select {
	case p := <-ch:
		if p != wantProbe {
			t.Fatalf("%s: caller went with probe %v, want %v", what, p, wantProbe)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no caller went", what)
	}
}

func TestCredentialGateLetsOneProbeThroughAtStart(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	g := newCredentialGate(clk, slog.New(slog.DiscardHandler), 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	went := gateCallers(ctx, g, 5)
	expectOne(t, went, true, "start")
	expectNone(t, went, "while the first request probes")

	g.report(nil, true) // EWS answered
	for range 4 {
		expectOne(t, went, false, "after a successful probe")
	}
	if probe, err := g.wait(ctx); probe || err != nil {
		t.Errorf("open gate: wait = %v, %v; want no probe, no error", probe, err)
	}
}

func TestCredentialGateHoldsTrafficAfterRejection(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	g := newCredentialGate(clk, slog.New(slog.DiscardHandler), 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.report(nil, false) // verified
	g.report(errRejected, false)
	went := gateCallers(ctx, g, 3)
	expectNone(t, went, "during the first pause")

	clk.Advance(10 * time.Second)
	expectOne(t, went, true, "after 10s")
	expectNone(t, went, "while the probe runs")

	g.report(errRejected, true) // still rejected: the pause doubles
	clk.Advance(19 * time.Second)
	expectNone(t, went, "19s into the doubled pause")
	clk.Advance(time.Second)
	expectOne(t, went, true, "after 20s")

	g.report(&ExchangeError{Code: "ErrorItemNotFound"}, true) // EWS answered: logon works
	expectOne(t, went, false, "after the credentials work again")
	if g.rejections() != 0 {
		t.Errorf("rejections after success = %d, want 0", g.rejections())
	}
}

func TestCredentialGateHandsOnTheProbeAfterANetworkError(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	g := newCredentialGate(clk, slog.New(slog.DiscardHandler), 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	went := gateCallers(ctx, g, 2)
	expectOne(t, went, true, "start")
	g.report(errors.New("connection refused"), true)
	expectOne(t, went, true, "after the probe failed without an answer")
	g.report(errNotSent, true)
	if probe, err := g.wait(ctx); !probe || err != nil {
		t.Errorf("after an unsent probe: wait = %v, %v; want to probe", probe, err)
	}
}

func TestCredentialGateWaitEndsWithContext(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	g := newCredentialGate(clk, slog.New(slog.DiscardHandler), time.Minute)
	g.report(errRejected, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait on a cancelled context = %v, want context.Canceled", err)
	}
}

// TestWrongPasswordCostsFewLogons: with every request rejected (a wrong
// password), 50 mailboxes send one request at start and then one per
// pause — not one per worker and retry, which would lock the service
// account out in Active Directory.
func TestWrongPasswordCostsFewLogons(t *testing.T) {
	fx := newFakeExchange()
	var sent atomic.Int64
	fx.setFail(func(op, smtp string) error {
		sent.Add(1)
		return errRejected
	})
	var names []string
	for i := range 50 {
		names = append(names, "u"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.org")
	}
	h := start(t, fx, memstore.New(), names, func(o *Options) {
		o.Budget.CredentialPause = 100 * time.Millisecond
	})
	time.Sleep(time.Second)
	h.stop()
	// Pauses of 100, 200, 400 ms fit in one second: at most 4 logons
	// (start + 3 probes), a little more for requests already in flight
	// when the first rejection arrived.
	if n := sent.Load(); n > 6 {
		t.Errorf("%d requests reached Exchange in 1s with a wrong password, want at most 6", n)
	}
	if n := sent.Load(); n == 0 {
		t.Error("no request reached Exchange")
	}
	var once sync.Once
	for _, s := range h.e.Statuses() {
		if s.State == StateLive {
			once.Do(func() { t.Errorf("%s is live although every request was rejected", s.SMTP) })
		}
	}
}

// TestCredentialGateStragglersDoNotStretchThePause: when the credentials
// break, every request already in flight comes back with 401. Only a
// rejected probe doubles the pause; ten stragglers must not stretch the
// first pause to the 15-minute cap (a burst of "401 under load" would
// otherwise stop all EWS traffic for 15 minutes).
func TestCredentialGateStragglersDoNotStretchThePause(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	g := newCredentialGate(clk, slog.New(slog.DiscardHandler), 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.report(nil, false) // verified
	for range 10 {
		g.report(errRejected, false) // requests in flight when the password broke
	}
	went := gateCallers(ctx, g, 1)
	clk.Advance(10 * time.Second)
	expectOne(t, went, true, "10s after the first rejection")
	g.report(errRejected, true) // the probe is rejected: now the pause doubles
	went = gateCallers(ctx, g, 1)
	clk.Advance(20 * time.Second)
	expectOne(t, went, true, "20s after the rejected probe")
}
