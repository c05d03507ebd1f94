package webhook

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery outcomes counted in calsync_webhook_deliveries_total.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeDead      = "dead"
)

type metrics struct {
	deliveries *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	pending    *prometheus.GaugeVec
	dead       *prometheus.GaugeVec
	requeued   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calsync_webhook_deliveries_total",
			Help: "Webhook delivery attempts by endpoint and outcome (delivered, retry, dead).",
		}, []string{"endpoint", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calsync_webhook_delivery_duration_seconds",
			Help:    "Duration of webhook delivery attempts.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8),
		}, []string{"endpoint"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "calsync_webhook_pending",
			Help: "Messages waiting in the webhook outbox per endpoint.",
		}, []string{"endpoint"}),
		dead: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "calsync_webhook_dead_letters",
			Help: "Dead-lettered webhook messages per endpoint.",
		}, []string{"endpoint"}),
		requeued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calsync_webhook_requeued_total",
			Help: "Dead-lettered webhook messages sent back to the outbox by an administrator, per endpoint.",
		}, []string{"endpoint"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.duration, m.pending, m.dead, m.requeued} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue // a second dispatcher on the same registry shares the series
			}
			return nil, err
		}
	}
	return m, nil
}
