package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics are the API's request metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calsync_api_http_requests_total",
			Help: "HTTP requests served by the API, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calsync_api_http_request_duration_seconds",
			Help:    "Time to answer API requests (the event stream counts until the header is sent).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	if err := registerAll(reg, m.requests, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// registerAll registers collectors, reusing already registered identical
// collectors so that two handlers may share one registry in tests.
func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			return fmt.Errorf("api: registering metrics: %w", err)
		}
	}
	return nil
}

// statusRecorder remembers the status code and forwards Flush for SSE.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

// WriteHeader records the status code.
func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

// Flush forwards to the underlying writer when it can flush.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts requests per route and logs server errors.
func (s *server) instrument(rt route, next http.HandlerFunc) http.Handler {
	label := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.clock.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next(rec, r)
		if !rec.wrote {
			rec.status = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(label, r.Method, strconv.Itoa(rec.status)).Inc()
		if rt.path != "/api/v1/events" {
			s.metrics.duration.WithLabelValues(label).Observe(s.clock.Now().Sub(start).Seconds())
		}
		elapsed := s.clock.Now().Sub(start).Round(time.Microsecond)
		if rec.status >= 500 {
			s.log.Warn("api: request failed", "route", label, "status", rec.status, "duration", elapsed)
		} else {
			s.log.Debug("api: request", "route", label, "status", rec.status, "duration", elapsed)
		}
	})
}

// handleMetrics serves the Gatherer in the Prometheus exposition format.
func (s *server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.opts.Gatherer == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "no metrics registry is configured")
		return
	}
	s.promHandler.ServeHTTP(w, r)
}

func newPromHandler(g prometheus.Gatherer) http.Handler {
	if g == nil {
		return nil
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
