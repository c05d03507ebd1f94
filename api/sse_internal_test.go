package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
)

func TestHubDropsSlowClient(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := NewHub(HubOptions{ClientBuffer: 2, Clock: clock.NewFake(time.Unix(1000, 0)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	slow, _, _, _, err := h.subscribe(0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	fast, _, _, _, _ := h.subscribe(0, false, nil)
	for i := range 3 {
		if _, err := h.Publish(EventPresenceChanged, map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			<-fast.events
		}
	}
	select {
	case <-slow.gone:
	default:
		t.Fatalf("a client with a full queue was not dropped")
	}
	select {
	case <-fast.gone:
		t.Fatalf("a client that keeps up was dropped")
	default:
	}
	if got := gatheredValue(t, reg, "calsync_sse_clients_dropped_total", ""); got != 1 {
		t.Errorf("dropped counter = %v, want 1", got)
	}
	if got := gatheredValue(t, reg, "calsync_sse_clients", ""); got != 1 {
		t.Errorf("clients gauge = %v, want 1", got)
	}
	if got := gatheredValue(t, reg, "calsync_sse_events_published_total", EventPresenceChanged); got != 3 {
		t.Errorf("published counter = %v, want 3", got)
	}
}

func TestHubIDsIncreaseAcrossRestart(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
	h1, _ := NewHub(HubOptions{Clock: clk})
	var last uint64
	for range 5 {
		id, _ := h1.Publish(EventPresenceChanged, 1)
		if id <= last {
			t.Fatalf("id %d after %d: ids must increase", id, last)
		}
		last = id
	}
	clk.Advance(time.Second)
	h2, _ := NewHub(HubOptions{Clock: clk})
	id, _ := h2.Publish(EventPresenceChanged, 1)
	if id <= last {
		t.Errorf("first id after a restart %d <= last id before %d", id, last)
	}
	_, replay, reset, _, _ := h2.subscribe(last, true, nil)
	if !reset || replay != nil {
		t.Errorf("resuming across a restart: reset=%v replay=%d, want a reset", reset, len(replay))
	}
}

// gatheredValue returns the value of a counter or gauge from reg; label,
// when set, must equal one of the metric's label values.
func gatheredValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				ok = ok || lp.GetValue() == label
			}
			if !ok {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{%s} not gathered", name, label)
	return 0
}

// stuckWriter is a ResponseWriter whose Write blocks, like a connection to
// a client that stopped reading, until a write deadline is set.
type stuckWriter struct {
	header  http.Header
	writes  chan struct{} // one value per Write call that started
	unblock chan struct{}
	once    sync.Once
}

func (w *stuckWriter) Header() http.Header { return w.header }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) Write(b []byte) (int, error) {
	w.writes <- struct{}{}
	<-w.unblock
	return 0, errors.New("write deadline exceeded")
}
func (w *stuckWriter) Flush() {}
func (w *stuckWriter) SetWriteDeadline(time.Time) error {
	w.once.Do(func() { close(w.unblock) })
	return nil
}

func TestStuckClientIsReleasedWhenDropped(t *testing.T) {
	h, err := NewHub(HubOptions{ClientBuffer: 1, Clock: clock.NewFake(time.Unix(1000, 0))})
	if err != nil {
		t.Fatal(err)
	}
	w := &stuckWriter{header: http.Header{}, writes: make(chan struct{}, 100), unblock: make(chan struct{})}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/events", nil)
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(w, req)
		close(done)
	}()
	<-w.writes // the handler is stuck writing the stream's preamble
	for i := 0; h.Clients() == 1; i++ {
		if _, err := h.Publish(EventPresenceChanged, i); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the handler of a dropped, stuck client did not return")
	}
}

// BenchmarkHubFanout measures publishing one event to 100 in-process
// subscribers that drain their queues (the hub's own cost, without HTTP).
func BenchmarkHubFanout(b *testing.B) {
	h, err := NewHub(HubOptions{ClientBuffer: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for range 100 {
		c, _, _, _, _ := h.subscribe(0, false, nil)
		go func() {
			for {
				select {
				case <-c.events:
				case <-c.gone:
					return
				}
			}
		}()
	}
	payload := map[string]string{"user": "alice@example.com", "availability": "busy"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Publish(EventPresenceChanged, payload); err != nil {
			b.Fatal(err)
		}
	}
	if h.Clients() != 100 {
		b.Logf("%d subscribers were dropped", 100-h.Clients())
	}
}
