package engine

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// streamGoroutines counts the goroutines running streaming-connection
// code of the engine.
func streamGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "engine.(*streamManager).") {
			count++
		}
	}
	return count
}

// TestStreamAtRestRunsOneGoroutine: a connection waiting for its next
// message costs the goroutine that reads it and nothing more; its
// heartbeat watchdog and renewal are timers.
func TestStreamAtRestRunsOneGoroutine(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	h := start(t, fx, memstore.New(), []string{alice}, nil)
	h.waitState(alice, StateLive)
	testenv.WaitFor(t, "a stream with alice", func() bool { return fx.streamWith(alice) })
	testenv.WaitFor(t, "one goroutine for the connection at rest", func() bool { return streamGoroutines() == 1 })
}

// TestStreamTimersFollowTheInjectedClock: messages keep a connection
// open past its heartbeat timeout; silence past it ends the connection
// (reopened at once, once the back-off passed); a connection is renewed
// StreamRenewBefore before its ConnectionTimeout; and no timer of an
// ended connection stays armed.
func TestStreamTimersFollowTheInjectedClock(t *testing.T) {
	const alice = "alice@example.org"
	const heartbeat = 3 * time.Minute
	clk := clock.NewFake(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	fx := newFakeExchange()
	h := start(t, fx, memstore.New(), []string{alice}, func(o *Options) {
		o.Clock = clk
		o.DiscoverBatchDelay = -1
		o.HeartbeatTimeout = heartbeat
		o.StreamTimeout = 30 * time.Minute
		o.StreamRenewBefore = time.Minute
	})
	m := h.e.metrics
	h.waitState(alice, StateLive)
	testenv.WaitFor(t, "a stream with alice", func() bool {
		clk.Advance(time.Second) // the regroup delay
		return fx.streamWith(alice)
	})
	lastMessage := func() time.Time {
		for _, g := range h.e.Groups() {
			for _, c := range g.Connections {
				if c.State == "open" {
					return c.LastMessage
				}
			}
		}
		return time.Time{}
	}
	// heard sends a message on the open connection and waits until the
	// engine read it (its watchdog was re-armed before).
	heard := func() {
		t.Helper()
		s := fx.openStreams()
		if len(s) != 1 {
			t.Fatalf("%d streams open, want 1", len(s))
		}
		s[0].send(StreamMessage{Status: "OK"})
		now := clk.Now()
		testenv.WaitFor(t, "the message read", func() bool { return lastMessage().Equal(now) })
	}
	heard()
	armed := clk.PendingTimers()
	// 8 minutes with a message every 2: no silence.
	for range 4 {
		clk.Advance(2 * time.Minute)
		heard()
	}
	if n := fx.count("OpenStream"); n != 1 || counterValue(t, m.streamEvents, "silent") != 0 {
		t.Fatalf("OpenStream = %d, silent = %v after messages within the heartbeat timeout, want 1, 0", n, counterValue(t, m.streamEvents, "silent"))
	}
	// Silence: the connection ends once the heartbeat timeout passed.
	clk.Advance(heartbeat)
	testenv.WaitFor(t, "the silent connection ended", func() bool { return counterValue(t, m.streamEvents, "silent") == 1 })
	testenv.WaitFor(t, "the connection reopened after its back-off", func() bool {
		clk.Advance(time.Second)
		return fx.count("OpenStream") == 2 && len(fx.openStreams()) == 1
	})
	heard()
	testenv.WaitFor(t, "as many timers armed as before the silence (none of the ended connection's left)", func() bool {
		return clk.PendingTimers() == armed
	})
	// Renewal 29 minutes after the open: a second connection opens while
	// the first still streams.
	for range 14 {
		clk.Advance(2 * time.Minute)
		heard()
	}
	if n := counterValue(t, m.streamEvents, "renewal"); n != 0 {
		t.Fatalf("renewal = %v after 28 minutes, want 0", n)
	}
	clk.Advance(2 * time.Minute)
	testenv.WaitFor(t, "the renewal", func() bool {
		return counterValue(t, m.streamEvents, "renewal") == 1 && fx.count("OpenStream") == 3
	})
}
