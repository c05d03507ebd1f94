package engine

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus collectors. They are always created
// (so code can update them unconditionally) and registered only when
// Options.Registerer is set.
type metrics struct {
	syncLag       prometheus.Histogram
	errors        *prometheus.CounterVec
	throttled     *prometheus.CounterVec
	budgetLimit   prometheus.Gauge
	subscriptions *prometheus.GaugeVec
	connections   prometheus.Gauge
	resyncs       *prometheus.CounterVec
	// reads counts CalendarView requests by why they were sent
	// (readLabel): a load's requests beyond one per mailbox show their
	// cause here.
	reads *prometheus.CounterVec
	// streamEvents counts what happened to streaming connections
	// (stream_conn.go): cuts and failed opens make their members re-read.
	streamEvents *prometheus.CounterVec
	commits      prometheus.Counter
	states       *prometheus.GaugeVec
	oofPolls     prometheus.Counter
	oofChanges   prometheus.Counter
	syncChecks   *prometheus.CounterVec
	// replaysCovered counts notification reads skipped because the stored
	// window already showed the change (worker_replay.go).
	replaysCovered prometheus.Counter
	// syncPatches counts windows brought up to date from a sync-state
	// check's answer without a CalendarView (syncpatch.go).
	syncPatches prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		syncLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "sync_lag_seconds",
			Help:    "Delay from the first notification of a change to the commit of the re-read window.",
			Buckets: []float64{.01, .025, .05, .06, .075, .1, .15, .2, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "errors_total",
			Help: "Exchange errors seen by the engine, by EWS response code.",
		}, []string{"code"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "throttled_total",
			Help: "Throttling signals honoured by the budget limiter, by code.",
		}, []string{"code"}),
		budgetLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "budget_concurrency_limit",
			Help: "EWS requests the budget limiter lets out at once now (adaptive, or halved after ErrorExceededConnectionCount).",
		}),
		subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "subscriptions",
			Help: "Active notification subscriptions by mode.",
		}, []string{"mode"}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "streaming_connections",
			Help: "Open GetStreamingEvents connections.",
		}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "resyncs_total",
			Help: "Window re-reads by reason (initial, notification, reconcile, reconnect, resubscribe, rediscover, roll, manual, time zone).",
		}, []string{"reason"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "calendar_view_requests_total",
			Help: "CalendarView requests sent, by reason: a resync's reason, restart (first read after a start over the store), retry (after a read that failed), split (a truncated answer read again in halves).",
		}, []string{"reason"}),
		streamEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "streaming_connection_events_total",
			Help: "Streaming connection events: cut (lost with an error; members re-read), silent (no message within the heartbeat timeout; members re-read), open_failed (members re-read once open), closed (the server ended it cleanly; nothing re-read), renewal and rebuild (a make-before-break replacement began), retire_cut (a replaced connection still open after 5 s was cut; its members re-read).",
		}, []string{"event"}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "commits_total",
			Help: "Window commits to the store.",
		}),
		states: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "mailboxes",
			Help: "Mailboxes by state.",
		}, []string{"state"}),
		oofPolls: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "oof_tip_requests_total",
			Help: "GetMailTips requests polling automatic replies (many mailboxes each).",
		}),
		oofChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "oof_tip_changes_total",
			Help: "Automatic-replies mail tips that changed, each followed by one GetUserOofSettings.",
		}),
		syncChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "sync_state_checks_total",
			Help: "Calendar sync-state checks (SyncFolderItems) by result: unchanged (no window read), changed, first, invalid.",
		}, []string{"result"}),
		syncPatches: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "sync_state_patches_total",
			Help: "Windows brought up to date from a sync-state check's changed single items, without a CalendarView.",
		}),
		replaysCovered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "calsync", Subsystem: "engine", Name: "replayed_notifications_covered_total",
			Help: "Notification reads skipped because the stored window already showed every change the events named (replays after a restart, takeover or recovery).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	// A second engine on the same registry (a restart inside one process)
	// shares the collectors already registered.
	var err error
	if m.syncLag, err = register(reg, m.syncLag); err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	if m.throttled, err = register(reg, m.throttled); err != nil {
		return nil, err
	}
	if m.budgetLimit, err = register(reg, m.budgetLimit); err != nil {
		return nil, err
	}
	if m.subscriptions, err = register(reg, m.subscriptions); err != nil {
		return nil, err
	}
	if m.connections, err = register(reg, m.connections); err != nil {
		return nil, err
	}
	if m.resyncs, err = register(reg, m.resyncs); err != nil {
		return nil, err
	}
	if m.reads, err = register(reg, m.reads); err != nil {
		return nil, err
	}
	if m.streamEvents, err = register(reg, m.streamEvents); err != nil {
		return nil, err
	}
	if m.commits, err = register(reg, m.commits); err != nil {
		return nil, err
	}
	if m.states, err = register(reg, m.states); err != nil {
		return nil, err
	}
	if m.oofPolls, err = register(reg, m.oofPolls); err != nil {
		return nil, err
	}
	if m.oofChanges, err = register(reg, m.oofChanges); err != nil {
		return nil, err
	}
	if m.syncChecks, err = register(reg, m.syncChecks); err != nil {
		return nil, err
	}
	if m.syncPatches, err = register(reg, m.syncPatches); err != nil {
		return nil, err
	}
	if m.replaysCovered, err = register(reg, m.replaysCovered); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the identical collector registered before.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// registerExchangeHealth exports ExchangeHealth as gauges, computed when
// scraped: calsync_exchange_up (1 while Exchange answers, throttled
// included) and calsync_exchange_credentials_rejected (1 while the service
// account is rejected).
func registerExchangeHealth(reg prometheus.Registerer, health func() ExchangeHealth) error {
	if reg == nil {
		return nil
	}
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "calsync", Subsystem: "exchange", Name: "up",
		Help: "1 while Exchange answers calsync's requests (ok or throttled), 0 while it rejects the credentials or cannot be reached.",
	}, func() float64 { return boolGauge(health().Up()) })
	rejected := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "calsync", Subsystem: "exchange", Name: "credentials_rejected",
		Help: "1 while Exchange rejects the service account's credentials (HTTP 401); all EWS traffic waits for one probe.",
	}, func() float64 { return boolGauge(health().State == ExchangeCredentialsRejected) })
	for _, c := range []prometheus.Collector{up, rejected} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			return err
		}
	}
	return nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
