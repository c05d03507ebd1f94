package ewsexchange_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestCleanStreamingStartAsMicrosoftDescribes: each group subscribes its
// anchor first and its members with the anchor's X-BackEndOverrideCookie,
// so a clean start over the wire opens every streaming connection once:
// no ErrorProxyRequestNotAllowed, no reconnect, no connection opened twice
// in the simulator's counters.
func TestCleanStreamingStartAsMicrosoftDescribes(t *testing.T) {
	sim, ex := newHTTPSim(t, 60, 3)
	x := sim
	mbs := users(x)
	reg := prometheus.NewRegistry()
	r := startEngine(t, ex, memstore.New(), engine.Streaming, mbs, func(o *engine.Options) {
		o.Registerer = reg
		o.GroupSize = 8 // several connections per group
		// Partial connections wait for the members still subscribing up
		// to 60 × RegroupDelay; the helper's 20 ms (1.2 s) is shorter than
		// a start under -race on a loaded machine.
		o.RegroupDelay = 250 * time.Millisecond
	})
	waitAllLive(t, r.e, len(mbs), 30*time.Second)
	testenv.WaitFor(t, "every subscription on an open streaming connection", func() bool {
		streamed := 0
		for _, g := range r.e.Groups() {
			for _, c := range g.Connections {
				if c.State != "open" {
					return false
				}
				streamed += c.Subscriptions
			}
		}
		return streamed == len(mbs)
	})
	var conns int
	for _, g := range r.e.Groups() {
		for _, c := range g.Connections {
			conns++
			if c.Reconnects != 0 || c.LastError != "" {
				t.Errorf("connection %s: %d reconnects, last error %q; want none on a clean start", c.Name, c.Reconnects, c.LastError)
			}
		}
	}
	if n := x.Stats().StreamingConnectionsEver; n != int64(conns) {
		t.Errorf("simulator opened %d streaming connections for %d connections, want each opened once", n, conns)
	}
	for _, code := range []string{"ErrorProxyRequestNotAllowed", "ErrorSubscriptionNotFound"} {
		if n := errorCount(t, reg, code); n != 0 {
			t.Errorf("calsync_engine_errors_total{code=%q} = %v, want 0", code, n)
		}
	}
}

// errorCount reads calsync_engine_errors_total for one code.
func errorCount(t *testing.T, reg *prometheus.Registry, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "calsync_engine_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
