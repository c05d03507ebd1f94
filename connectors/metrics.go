package connectors

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterMetrics registers a connector's metrics on reg and returns the
// Options.Observe that counts its updates:
// calsync_connector_updates_total{connector,result} (ok, failed,
// unavailable), calsync_connector_update_seconds{connector}, and gauges
// read from status: calsync_connector_connected, _unavailable,
// _publications_live and _queue_length.
func RegisterMetrics(reg prometheus.Registerer, name string, status func() Status) (func(result string, took time.Duration), error) {
	if reg == nil {
		return nil, nil
	}
	labels := prometheus.Labels{"connector": name}
	updates := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calsync_connector_updates_total",
		Help: "Presence updates a connector sent, by result (ok, failed, unavailable).", ConstLabels: labels}, []string{"result"})
	seconds := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "calsync_connector_update_seconds",
		Help: "Time of one presence update including authentication.", ConstLabels: labels,
		Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10}})
	gauge := func(metric, help string, v func(Status) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metric, Help: help, ConstLabels: labels},
			func() float64 { return v(status()) })
	}
	b := func(x bool) float64 {
		if x {
			return 1
		}
		return 0
	}
	for _, c := range []prometheus.Collector{updates, seconds,
		gauge("calsync_connector_connected", "1 when the last update got an answer from the server.", func(s Status) float64 { return b(s.Connected) }),
		gauge("calsync_connector_unavailable", "1 while updates are held back after a target-wide failure.", func(s Status) float64 { return b(s.Unavailable) }),
		gauge("calsync_connector_publications_live", "Users the server shows a presence for.", func(s Status) float64 { return float64(s.Live) }),
		gauge("calsync_connector_queue_length", "Updates waiting or in flight.", func(s Status) float64 { return float64(s.Queue) }),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"ok", "failed", "unavailable"} {
		updates.WithLabelValues(r)
	}
	return func(result string, took time.Duration) {
		updates.WithLabelValues(result).Inc()
		seconds.Observe(took.Seconds())
	}, nil
}
