package hybridexchange

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// streamEvents reads calsync_engine_streaming_connection_events_total by event.
func streamEvents(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "calsync_engine_streaming_connection_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestRenewedPolledStreamReadsNothing: a renewal of a cloud group's polled
// stream opens the new stream while the old one polls on (make before
// break); the new one takes the old one's subscriptions, which then ends
// with ConnectionStatus Closed, as Exchange ends a connection whose
// subscriptions a newer one took, so no member re-reads. Before, nothing
// ended the old stream: it was cut 5 s later and every cloud member
// re-read at every renewal.
func TestRenewedPolledStreamReadsNothing(t *testing.T) {
	w := newWorld()
	var cloud []string
	for i := range 3 {
		m := fmt.Sprintf("c%d@example.org", i)
		w.put(m, Cloud, occ("i"+m, "One", 1))
		cloud = append(cloud, m)
	}
	reg := prometheus.NewRegistry()
	h := startHybrid(t, w, memstore.New(), engine.Streaming, cloud, nil, func(o *engine.Options) {
		o.Registerer = reg
		o.StreamTimeout, o.StreamRenewBefore = time.Minute, 58*time.Second // a renewal every 2 s
	})
	h.waitConverged(cloud)
	testenv.WaitFor(t, "every cloud mailbox streamed", func() bool {
		n := 0
		for _, g := range h.e.Groups() {
			for _, c := range g.Connections {
				if c.State == "open" {
					n += c.Subscriptions
				}
			}
		}
		return n == len(cloud)
	})
	views := func() int {
		n := 0
		for _, m := range cloud {
			n += w.count(Cloud, "CalendarView", m)
		}
		return n
	}
	before, ev := views(), streamEvents(t, reg)
	testenv.WaitFor(t, "three renewed streams' predecessors ended Closed", func() bool {
		return streamEvents(t, reg)["closed"] >= ev["closed"]+3
	})
	after := streamEvents(t, reg)
	if after["renewal"] < ev["renewal"]+3 || after["retire_cut"] != 0 || after["cut"] != 0 {
		t.Errorf("streaming connection events %v (before %v): want 3 or more renewals, each predecessor closed, none cut", after, ev)
	}
	if n := views() - before; n != 0 {
		t.Errorf("%d cloud CalendarView over the renewals, want 0", n)
	}

	// The renewed stream carries the members' changes.
	w.put(cloud[0], Cloud, occ("i2", "Two", 2))
	h.waitConverged(cloud)
}
