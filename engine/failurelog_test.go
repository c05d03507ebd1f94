package engine

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

func TestFailureLogSummarisesAFloodOfOneCode(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	var logs testenv.SyncBuffer
	e := &Engine{clk: clk, log: slog.New(slog.NewTextHandler(&logs, nil))}
	f := newFailureLog(e)
	unreachable := errors.New("dial tcp: connection refused")
	for i := range 40 {
		f.warn("user"+string(rune('a'+i%26))+"@example.org", "NetworkError", unreachable, "failures", 1)
	}
	f.warn("eve@example.org", "ErrorImpersonateUserDenied", &ExchangeError{Code: "ErrorImpersonateUserDenied"})
	if n := strings.Count(logs.String(), `msg="mailbox sync step failed"`); n != failureLogBurst+1 {
		t.Fatalf("%d per-mailbox lines, want %d (the burst of NetworkError plus the other code):\n%s", n, failureLogBurst+1, logs.String())
	}
	if strings.Contains(logs.String(), "more mailboxes failed") {
		t.Fatal("summary written before the window ended")
	}
	clk.Advance(failureLogWindow)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "more mailboxes failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary after the window:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "code=NetworkError mailboxes=35") {
		t.Errorf("summary does not count the 35 unlogged NetworkError failures:\n%s", logs.String())
	}
	// A new window logs examples again.
	f.warn("usera@example.org", "NetworkError", unreachable)
	if n := strings.Count(logs.String(), `msg="mailbox sync step failed"`); n != failureLogBurst+2 {
		t.Errorf("after the window: %d per-mailbox lines, want %d", n, failureLogBurst+2)
	}
}

// TestExchangeUnreachableDoesNotFloodTheLog: 50 mailboxes failing and
// retrying for a second write a handful of warnings, not one per mailbox
// and retry.
func TestExchangeUnreachableDoesNotFloodTheLog(t *testing.T) {
	fx := newFakeExchange()
	fx.setFail(func(op, smtp string) error { return errors.New("dial tcp 192.0.2.1:443: connection refused") })
	var names []string
	for i := range 50 {
		names = append(names, "u"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.org")
	}
	var logs testenv.SyncBuffer
	h := start(t, fx, memstore.New(), names, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	time.Sleep(time.Second)
	h.stop()
	if n := strings.Count(logs.String(), `msg="mailbox sync step failed"`); n > failureLogBurst {
		t.Errorf("%d per-mailbox warnings in 1s, want at most %d", n, failureLogBurst)
	}
}
