package events

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics keep the calsync_sse_ names they had when the stream lived in
// the API: dashboards and alerts use them.
type metrics struct {
	subscribers prometheus.Gauge
	published   *prometheus.CounterVec
	dropped     prometheus.Counter
	resets      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "calsync_sse_clients",
			Help: "Clients connected to the event stream.",
		}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calsync_sse_events_published_total",
			Help: "Events published on the event stream, by type.",
		}, []string{"type"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calsync_sse_clients_dropped_total",
			Help: "Event-stream clients disconnected because they did not keep up.",
		}),
		resets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calsync_sse_resets_total",
			Help: "Resuming clients told to reload because their Last-Event-ID was no longer buffered.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.subscribers, m.published, m.dropped, m.resets} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			return nil, fmt.Errorf("events: registering metrics: %w", err)
		}
	}
	return m, nil
}
