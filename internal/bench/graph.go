package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/graphexchange"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/graph/graphserver/hybrid"
	"github.com/calsync/calsync/internal/graphconn"
)

// The app the child's Graph face accepts: a bench-only tenant on loopback.
const (
	benchTenant   = "bench.onmicrosoft.com"
	benchClientID = "calsync-bench"
	benchSecret   = "bench-secret"
)

// Graph's documented limits per app and mailbox (graph-facts §5), which the
// child's Graph face enforces too.
const (
	graphPer10Min   = 10000
	graphConcurrent = 4
)

// newCloudSim is the child of `calsync bench -graph`: the simulator with
// every user mailbox in Exchange Online and its Graph face, with Graph's
// default limits.
func newCloudSim(o ewssim.Options) (servedSim, error) {
	h, err := hybrid.New(hybrid.Options{Sim: o, Graph: graphserver.Options{Tenant: benchTenant, ClientID: benchClientID, ClientSecret: benchSecret}})
	if err != nil {
		return nil, err
	}
	if err := h.PlaceInCloud(h.UserMailboxes()...); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// GraphConfig is one run of the Graph bench.
type GraphConfig struct {
	Mailboxes int
	// Changes are made on as many distinct mailboxes, spread over one
	// delta interval, to measure change→synced (0: none).
	Changes int
	// DeltaInterval is exchange_online.notifications.delta_interval
	// (0: its default, 30 s).
	DeltaInterval time.Duration
	// Webhook subscribes every mailbox to change notifications, which
	// the child's Graph face posts to a receiver of this process on
	// loopback; DeltaInterval is then the safety-net round (as
	// exchange_online.notifications.mode: webhook).
	Webhook bool
	// CoalesceDelay is the engine's coalescing delay (0: 50 ms).
	CoalesceDelay time.Duration
	SimExe        string
	Logger        *slog.Logger
	Stderr        io.Writer
}

// GraphResult is what one Graph run measured.
type GraphResult struct {
	Mailboxes     int
	Mode          string // "delta" or "webhook"
	DeltaInterval time.Duration
	AllLive       time.Duration // start → every mailbox live
	// LoadCounts are the engine's Graph requests up to all live, Counts
	// those of the whole run.
	LoadCounts, Counts graphCounts
	Duration           time.Duration // of the whole run
	P50, P99, Max      time.Duration
	Samples, Lost      int
}

// RunGraph measures the engine over Graph (delta or webhook mode) against a child
// simulator whose mailboxes are all in the cloud.
func RunGraph(ctx context.Context, cfg GraphConfig) (GraphResult, error) {
	cfg.DeltaInterval = cmp.Or(cfg.DeltaInterval, config.DefaultDeltaInterval)
	res := GraphResult{Mailboxes: cfg.Mailboxes, Mode: "delta", DeltaInterval: cfg.DeltaInterval}
	sim, err := startSim(ctx, cfg.SimExe, cfg.Mailboxes, 1, false, 0, cfg.Stderr, "-graph")
	if err != nil {
		return res, err
	}
	defer sim.stop()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	counter := newGraphCounter(transport)
	// The client is built as `calsync run` builds it from exchange_online.
	_, gc, err := graphconn.New(&config.ExchangeOnline{TenantID: benchTenant, ClientID: benchClientID,
		ClientSecret: config.NewSecret(benchSecret, "the bench"), LoginURL: sim.url, GraphURL: sim.url + "/v1.0"},
		graphconn.Options{Logger: cfg.Logger, HTTPClient: &http.Client{Transport: counter}})
	if err != nil {
		return res, err
	}
	ctl := ewsclient.BasicAuth(&http.Client{Transport: transport}, sim.account, sim.password)
	mailboxes, err := simMailboxes(ctx, ctl, sim.url, sim.account)
	if err != nil {
		return res, err
	}
	st, closeStore, err := tempStore("calsync-bench-graph-")
	if err != nil {
		return res, err
	}
	defer closeStore()
	changes := &changeTracker{pending: map[string]time.Time{}}
	// Delta rounds are the engine's pull loop, as app/wiring.go sets it up
	// for exchange_online alone.
	ex, pull, stopHook, err := graphBackend(cfg, gc)
	if err != nil {
		return res, err
	}
	defer stopHook()
	if cfg.Webhook {
		res.Mode = "webhook"
	}
	opts := engine.Options{Store: st, Exchange: ex, Mode: engine.Pull, PullInterval: pull,
		Logger: cfg.Logger, Sink: engine.SinkFuncs{Calendar: changes.changed}, Registerer: prometheus.NewRegistry(),
		CoalesceDelay: cmp.Or(cfg.CoalesceDelay, 50*time.Millisecond)}
	start := time.Now()
	e, err := startEngine(ctx, opts, mailboxes)
	if err != nil {
		return res, err
	}
	defer e.stop()
	deadline := start.Add(time.Duration(cfg.Mailboxes)*20*time.Millisecond + 2*time.Minute)
	for e.e.StateCounts()[engine.StateLive] != len(mailboxes) {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("not all live after %s: states %v", time.Since(start).Round(time.Second), e.e.StateCounts())
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return res, err
		}
	}
	res.AllLive = time.Since(start)
	res.LoadCounts = counter.snapshot()
	// Changes spread over one delta interval meet every phase of the
	// rounds; notifications need no such spread.
	spread := cfg.DeltaInterval
	if cfg.Webhook {
		spread = 5 * time.Second
	}
	if err := graphChanges(ctx, cfg.Changes, spread, &res, mailboxes, ctl, sim.url, changes); err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	res.Counts = counter.snapshot()
	return res, nil
}

// graphBackend is graphexchange in delta mode, or in webhook mode with its
// receiver listening on loopback; it returns the engine's pull interval
// and what stops the receiver.
func graphBackend(cfg GraphConfig, gc *graphclient.Client) (*graphexchange.Client, time.Duration, func(), error) {
	if !cfg.Webhook {
		return graphexchange.New(gc, nil), cfg.DeltaInterval, func() {}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("bench: webhook receiver: %w", err)
	}
	base := "http://" + ln.Addr().String()
	x := graphexchange.New(gc, &graphexchange.Options{Webhook: &graphexchange.WebhookOptions{
		NotificationURL: base + "/notify", LifecycleURL: base + "/lifecycle", ClientState: "calsync-bench", SafetyInterval: cfg.DeltaInterval}})
	srv := &http.Server{Handler: x.Receiver(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// A pull without a notification makes no request (app/wiring.go).
	return x, 2 * time.Second, func() { _ = srv.Close() }, nil
}

// graphChanges makes count changes on distinct random mailboxes, spread
// evenly over spread, and waits for the engine to report them (at most
// three spreads, at least 30 s).
func graphChanges(ctx context.Context, count int, spread time.Duration, res *GraphResult, mailboxes []string, ctl ewsclient.HTTPClient, simURL string, changes *changeTracker) error {
	n := min(count, len(mailboxes))
	if n == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(1, 2))
	picked := rng.Perm(len(mailboxes))[:n]
	gap := spread / time.Duration(n)
	for i, k := range picked {
		m := mailboxes[k]
		changes.begin(m)
		if err := createItem(ctx, ctl, simURL, m, fmt.Sprintf("bench graph change %d", i), i); err != nil {
			return err
		}
		if err := sleep(ctx, gap); err != nil {
			return err
		}
	}
	wait := time.Now().Add(max(3*spread, 30*time.Second))
	for time.Now().Before(wait) && changes.open() > 0 {
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	ds := changes.sorted()
	res.Samples, res.Lost = len(ds), changes.open()
	if len(ds) > 0 {
		res.P50 = ds[len(ds)*50/100]
		res.P99 = ds[min(len(ds)-1, len(ds)*99/100)]
		res.Max = ds[len(ds)-1]
	}
	return nil
}

// open is the number of changes not reported yet.
func (c *changeTracker) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// WriteGraphTable prints Graph results as a Markdown table.
func WriteGraphTable(w io.Writer, rs []GraphResult) {
	row := table(w, "metric (Graph)", rs, func(r GraphResult) string { return fmt.Sprintf("%d cloud mailboxes", r.Mailboxes) })
	per := func(c graphCounts, n int) string { return fmt.Sprintf("%.2f", float64(c.Total)/float64(n)) }
	row("mode / delta interval (webhook: safety net)", func(r GraphResult) string { return r.Mode + " / " + r.DeltaInterval.String() })
	row("time to all live", func(r GraphResult) string { return r.AllLive.Round(10 * time.Millisecond).String() })
	row("Graph requests per mailbox up to all live", func(r GraphResult) string { return per(r.LoadCounts, r.Mailboxes) })
	row("requests by operation up to all live", func(r GraphResult) string { return fmtMap(r.LoadCounts.Requests) })
	row("whole run: duration / requests per mailbox", func(r GraphResult) string {
		return fmt.Sprintf("%s / %s", r.Duration.Round(time.Second), per(r.Counts, r.Mailboxes))
	})
	row("requests by operation, whole run", func(r GraphResult) string { return fmtMap(r.Counts.Requests) })
	row("change→synced p50 / p99 / max", func(r GraphResult) string {
		s := fmt.Sprintf("%s / %s / %s (%d samples)", r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.Samples)
		if r.Lost > 0 {
			s += fmt.Sprintf(", %d not seen in time", r.Lost)
		}
		return s
	})
	row("429s received", func(r GraphResult) string {
		var n int64
		for _, v := range r.Counts.Throttled {
			n += v
		}
		if n == 0 {
			return "0"
		}
		return fmt.Sprintf("%d (%s)", n, fmtMap(r.Counts.Throttled))
	})
	row(fmt.Sprintf("busiest mailbox: requests in any 10 min (limit %d) / concurrent (limit %d)", graphPer10Min, graphConcurrent), func(r GraphResult) string {
		return fmt.Sprintf("%d / %d", r.Counts.MaxPer10Min, r.Counts.MaxConcurrent)
	})
	row("inside Graph's per-mailbox limits", func(r GraphResult) string {
		if r.Counts.MaxPer10Min <= graphPer10Min && r.Counts.MaxConcurrent <= graphConcurrent {
			return "yes"
		}
		return "**no**"
	})
}
