package engine

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// counterValue reads one series of a counter vector.
func counterValue(t *testing.T, v *prometheus.CounterVec, label string) float64 {
	t.Helper()
	var m dto.Metric
	if err := v.WithLabelValues(label).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestReadsAreCountedByReason: every CalendarView is counted under why it
// was sent — a first load, the retry after a failed one, the re-read after
// a streaming connection's cut (counted as a cut too), the re-read after a
// lost subscription — so that a bench can tell what reads beyond one per
// mailbox were for.
func TestReadsAreCountedByReason(t *testing.T) {
	const alice, bob = "alice@example.org", "bob@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "One", 1))
	fx.put(bob, occ("b1", "One", 2))
	var failed atomic.Bool
	fx.setFail(func(op, smtp string) error {
		if op == "CalendarView" && smtp == alice && failed.CompareAndSwap(false, true) {
			return &ExchangeError{Code: "ErrorServerBusy", BackOff: 5 * time.Millisecond}
		}
		return nil
	})
	h := start(t, fx, memstore.New(), []string{alice, bob}, nil)
	m := h.e.metrics
	h.waitState(alice, StateLive)
	h.waitState(bob, StateLive)
	if got := counterValue(t, m.reads, "initial"); got != 2 {
		t.Errorf("reads{initial} = %v, want 2 (one per mailbox, the failed one included)", got)
	}
	if got := counterValue(t, m.reads, "retry"); got != 1 {
		t.Errorf("reads{retry} = %v, want 1 (alice's read after its failure)", got)
	}

	testenv.WaitFor(t, "one stream open with both", func() bool { return fx.streamWith(alice, bob) })
	fx.mu.Lock()
	fx.items[alice] = []calendar.Occurrence{occ("a1", "Lost event", 1)}
	fx.mu.Unlock()
	fx.openStreams()[0].cut()
	h.waitSubjects(alice, "Lost event")
	// A resync is counted once its read committed, after its CalendarView.
	testenv.WaitFor(t, "both members' re-reads committed as reconnect resyncs", func() bool {
		return counterValue(t, m.resyncs, "reconnect") == 2
	})
	if got := counterValue(t, m.reads, "reconnect"); got != 2 {
		t.Errorf("reads{reconnect} = %v, want 2", got)
	}
	if got := counterValue(t, m.streamEvents, "cut"); got != 1 {
		t.Errorf("streaming_connection_events{cut} = %v, want 1", got)
	}

	testenv.WaitFor(t, "stream open again", func() bool { return fx.streamWith(alice, bob) })
	fx.restart()
	testenv.WaitFor(t, "both members' re-reads counted as resubscribe", func() bool {
		return counterValue(t, m.reads, "resubscribe") == 2
	})
	if got := counterValue(t, m.reads, "notification"); got != 0 {
		t.Errorf("reads{notification} = %v, want 0 (no change was notified)", got)
	}
}
