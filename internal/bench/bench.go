// Package bench is the library behind `calsync bench` (internal/cli holds
// its flags): it runs the simulator in a
// separate process (the calsync binary itself, `calsync bench -serve-sim`),
// syncs its mailboxes with the real engine over HTTP (ewsclient, streaming
// mode, bolt store) and reports, per size: time to initial load and to
// all-subscribed, EWS requests per mailbox, streaming connections, p50/p99
// delay from a change on the server to the updated occurrence in calsync,
// RSS and CPU per 1,000 mailboxes, idle CPU, and throttling errors.
package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/buildinfo"
	"github.com/calsync/calsync/internal/ewsconn"
	"github.com/calsync/calsync/internal/memlimit"
)

// Config is one benchmark run.
type Config struct {
	Mailboxes int
	Servers   int
	Changes   int
	Idle      time.Duration
	// IdleAfter is a wait between the load and the idle period, so that
	// idle CPU can be measured at steady state instead of right after the
	// load (the first mail-tip round, the scavenger returning the load's
	// heap; 0: right after).
	IdleAfter time.Duration
	// Auth is the engine's EWS authentication: "basic" (default) or "ntlm".
	Auth string
	// CoalesceDelay is the engine's coalescing delay (0: 50 ms).
	CoalesceDelay time.Duration
	// OOFChanges automatic replies are turned on to measure their
	// detection (oof.go; 0: no such phase); OOFPollInterval is the
	// engine's mail-tip poll interval (0: its default, 60 s).
	OOFChanges      int
	OOFPollInterval time.Duration
	// Restart measures a restart over the store after the load (restart.go)
	// instead of idle CPU and change delays; RestartChanges mailboxes
	// change while calsync is down (0: 1 %, at least 1).
	Restart        bool
	RestartChanges int
	// RestartReconcile is the loading engine's reconciliation interval
	// in restart mode (0: 30 s + 10 ms per mailbox, after the load).
	RestartReconcile time.Duration
	// CPUProfile and HeapProfile name files for a CPU profile of the
	// initial load and a heap profile right after it, IdleProfile for a
	// CPU profile of the idle period ("" = none).
	CPUProfile, HeapProfile, IdleProfile string
	// HeapDump names a file for a Go heap dump right after the load's
	// figures are read ("" = none; heapdump.go).
	HeapDump string
	// SimExe serves `bench -serve-sim`.
	SimExe string
	// Budget is the engine's budget (budget.go: the default config's
	// unless flags change it); SimQueueLimit overloads the simulator
	// (HTTP 503 above that many requests in flight, 0 = off).
	Budget        engine.BudgetConfig
	SimQueueLimit int
	// Compare ("exchangelib") runs that client on the same job against the
	// same simulator after calsync's load (compare.go) instead of idle CPU,
	// change delays and automatic replies; Budget should then be
	// CompareBudget. Python is the interpreter with exchangelib.
	Compare, Python string
	// LoadTimeout bounds the wait for every mailbox live and streamed
	// (0: 20 ms per mailbox + 2 min; a loaded machine needs more at
	// 50,000).
	LoadTimeout time.Duration
	Logger      *slog.Logger
	Stderr      io.Writer
}

// Result is what one run measured.
type Result struct {
	Mailboxes          int
	Auth               string        // EWS authentication of the engine
	InitialLoad        time.Duration // start → every mailbox live
	AllSubscribed      time.Duration // start → every subscription on an open streaming connection
	RequestsPerMailbox float64       // EWS requests at all-subscribed / mailboxes
	Requests           map[string]int64
	// AutodiscoverRequests are the GetUserSettings requests at
	// all-subscribed: not EWS requests, but a real Autodiscover server
	// serves each (up to 90 mailboxes per request).
	AutodiscoverRequests int64
	Groups               int
	Connections          int
	MaxConnectionsNeed   int // Σ ceil(members/200) over groups
	P50, P99, Max        time.Duration
	Samples              int
	// EngineP50 and EngineP99 are the engine's own share (first
	// notification → commit, coalescing included), as histogram bucket
	// upper bounds.
	EngineP50, EngineP99 time.Duration
	RSSPer1000           float64 // MiB of resident memory per 1,000 mailboxes (engine process, after load)
	HeapPer1000          float64 // MiB of Go heap in use per 1,000 mailboxes
	// PeakRSS is the engine process's peak resident memory during the
	// load (VmHWM, bytes); RSS, HeapInuse and HeapLive are taken after
	// it, after a GC (whole process, bytes).
	PeakRSS, RSS, HeapInuse, HeapLive int64
	// MemoryLimit is the Go runtime's soft limit the bench set, as
	// `calsync run` does.
	MemoryLimit int64
	// ReleaseWait is how long after the load the engine's release of the
	// load's memory ended (waitMemoryRelease); the figures after the load
	// are taken then.
	ReleaseWait    time.Duration
	CPULoadPer1000 time.Duration
	// GCCycles is how many collections ran during the load (as long as
	// its CPU is counted).
	GCCycles uint64
	// CPUWithReleasePer1000 is the CPU from the same start until the
	// engine's release of the load's memory is done (ReleaseWait after
	// the load): the release's work, wherever it falls, counted too.
	CPUWithReleasePer1000 time.Duration
	IdleCPUPercent        float64 // % of one core while idle
	ThrottlingErrors      int64
	ThrottledByCode       map[string]int64
	StreamingFromServer   int
	OOF                   OOFResult  // automatic replies (oof.go)
	BudgetLimit           LimitStats // budget.go
	// AtPeak is what the RSS consisted of at its largest 100 ms sample
	// during the load (peak.go); AfterLoad what it consists of after the
	// load, when RSS is read (aftermem.go).
	AtPeak    peakSample
	AfterLoad residentSplit
	// Stop is from cancelling the engine at the end of the run to its Run
	// returning: every worker ends and stores its "stopped" status (0 when
	// a phase stopped it before).
	Stop time.Duration
	// LoadCauses are the engine's reads by reason and streaming
	// connection events up to all-subscribed (reasons.go).
	LoadCauses ReadCauses
	// Cgo is the measured binary's CGO_ENABLED ("0": static, the release
	// build; "1": libc mapped, more RSS): the bench's engine runs in this
	// process.
	Cgo string
	// Restart is set when Config.Restart asked for it.
	Restart *RestartResult
	// Compare is set when Config.Compare asked for it.
	Compare *CompareResult
}

// Run measures one size.
func Run(ctx context.Context, cfg Config) (Result, error) {
	res := Result{Mailboxes: cfg.Mailboxes, Auth: cmp.Or(cfg.Auth, "basic"), Cgo: buildinfo.Cgo()}
	ntlm := cfg.Auth == "ntlm"
	sim, err := startSim(ctx, cfg.SimExe, cfg.Mailboxes, cfg.Servers, ntlm, cfg.SimQueueLimit, cfg.Stderr)
	if err != nil {
		return res, err
	}
	defer sim.stop()
	// The engine's client is built as `calsync run` builds it, with the
	// auth method under test.
	method := config.AuthBasic
	if ntlm {
		method = config.AuthNTLM
	}
	conn, err := ewsconn.New(config.Exchange{EWSURL: sim.url + "/EWS/Exchange.asmx",
		Auth: config.Auth{Method: method, Username: sim.account, Password: config.NewSecret(sim.password, "the simulator child")}},
		ewsconn.Options{MaxConnsPerHost: 1024})
	if err != nil {
		return res, err
	}
	client := conn.Client
	// The control API (/sim/v1/) always takes Basic.
	auth, err := sim.controlClient(1024)
	if err != nil {
		return res, err
	}
	mailboxes, err := simMailboxes(ctx, auth, sim.url, sim.account)
	if err != nil {
		return res, err
	}
	st, closeStore, err := tempStore("calsync-bench-")
	if err != nil {
		return res, err
	}
	defer closeStore()

	changes := &changeTracker{pending: map[string]time.Time{}}
	reg := prometheus.NewRegistry()
	opts := engine.Options{Store: st, Exchange: ewsexchange.NewClient(client, sim.url+"/autodiscover/autodiscover.svc"),
		Logger: cfg.Logger, Sink: engine.SinkFuncs{Calendar: changes.changed}, Registerer: reg, CoalesceDelay: cmp.Or(cfg.CoalesceDelay, 50*time.Millisecond),
		OOFPollInterval: cfg.OOFPollInterval, Budget: cfg.Budget}
	if cfg.Restart {
		// Reconciliations take the sync states a restart relies on; the
		// first comes after the load (0.8–1 × the interval after each read).
		opts.ReconcileInterval = cmp.Or(cfg.RestartReconcile, restartReconcile(cfg.Mailboxes))
	}
	res.MemoryLimit = memlimit.SetForMailboxes(cfg.Mailboxes)
	if cfg.HeapProfile != "" {
		runtime.MemProfileRate = memlimit.ProfileRate // main turned it off
	}
	if cfg.HeapDump != "" {
		runtime.MemProfileRate = heapDumpProfileRate
	}
	runtime.GC()
	rss0 := rssBytes()
	resetPeakRSS()
	stopProfile, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return res, err
	}
	defer stopProfile()
	cpu0, gc0 := cpuTime(), gcCycles()
	start := time.Now()
	e, err := startEngine(ctx, opts, mailboxes)
	if err != nil {
		return res, err
	}
	defer e.stop()

	peak := newPeakSampler()
	defer peak.close()
	deadline := start.Add(cmp.Or(cfg.LoadTimeout, time.Duration(cfg.Mailboxes)*20*time.Millisecond+2*time.Minute))
	for res.InitialLoad == 0 || res.AllSubscribed == 0 {
		if time.Now().After(deadline) {
			var streamed int
			for _, g := range e.e.Groups() {
				for _, c := range g.Connections {
					if c.State == "open" {
						streamed += c.Subscriptions
					}
				}
			}
			stats, _ := simStats(ctx, auth, sim.url)
			err := fmt.Errorf("not settled after %s (-load-timeout): states %v, %d subscriptions streamed; simulator: requests %s, throttled %s; CPU %s, peak RSS %.1f MiB",
				time.Since(start).Round(time.Second), e.e.StateCounts(), streamed, fmtMap(stats.Requests), fmtMap(stats.Throttled),
				(cpuTime() - cpu0).Round(time.Millisecond), float64(peakRSSBytes())/(1<<20))
			// Said now: stopping the engine stores every worker's status
			// one transaction at a time, minutes at 50,000 mailboxes.
			fmt.Fprintln(cmp.Or[io.Writer](cfg.Stderr, os.Stderr), "bench:", err)
			return res, err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return res, err
		}
		peak.sample()
		if res.InitialLoad == 0 {
			res.BudgetLimit.sample(e.e.BudgetLimit())
		}
		if res.InitialLoad == 0 && e.e.StateCounts()[engine.StateLive] == cfg.Mailboxes {
			res.InitialLoad = time.Since(start)
		}
		if res.AllSubscribed == 0 && allStreamed(e.e.Groups(), cfg.Mailboxes) {
			res.AllSubscribed = time.Since(start)
		}
	}
	cpuLoad := cpuTime() - cpu0
	res.GCCycles = gcCycles() - gc0
	res.PeakRSS = peakRSSBytes()
	res.AtPeak = peak.best
	stopProfile()
	stats, err := simStats(ctx, auth, sim.url)
	if err != nil {
		return res, err
	}
	res.Requests = stats.Requests
	res.AutodiscoverRequests = stats.AutodiscoverRequests
	res.LoadCauses = readCauses(reg)
	res.RequestsPerMailbox = float64(stats.RequestsTotal) / float64(cfg.Mailboxes)
	for _, g := range e.e.Groups() {
		res.Groups++
		res.Connections += len(g.Connections)
		res.MaxConnectionsNeed += (g.Subscriptions + 199) / 200
	}
	res.StreamingFromServer = stats.StreamingConnections
	// The engine gives the load's transient memory back when its last
	// worker is live, on a goroutine of its own (engine/memrelease.go):
	// the figures after the load are taken once it has, as a production
	// instance's memory after its load is. Loads below the release's
	// minimum (100 mailboxes) have none.
	res.ReleaseWait = waitMemoryRelease(ctx, e.e, cfg.Mailboxes >= 100)
	res.CPUWithReleasePer1000 = time.Duration(float64(cpuTime()-cpu0) / float64(cfg.Mailboxes) * 1000)
	runtime.GC()
	res.RSS = rssBytes()
	res.RSSPer1000 = float64(res.RSS-rss0) / (1 << 20) / float64(cfg.Mailboxes) * 1000
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapInuse, res.HeapLive = int64(ms.HeapInuse), int64(ms.HeapAlloc)
	res.AfterLoad = readResidentSplit()
	if err := writeHeapProfile(cfg.HeapProfile); err != nil {
		return res, err
	}
	if err := writeHeapDump(cfg.HeapDump); err != nil {
		return res, err
	}
	res.HeapPer1000 = float64(ms.HeapInuse) / (1 << 20) / float64(cfg.Mailboxes) * 1000
	res.CPULoadPer1000 = time.Duration(float64(cpuLoad) / float64(cfg.Mailboxes) * 1000)
	if cfg.Restart {
		// Instead of idle CPU and change delays (the reconciliations that
		// take the sync states would disturb them).
		rr, err := measureRestart(ctx, restartRun{cfg: cfg, first: e, opts: opts, st: st, hc: auth, simURL: sim.url, mailboxes: mailboxes})
		if err != nil {
			return res, err
		}
		res.Restart = &rr
	} else if cfg.Compare != "" {
		e.stop() // its streams would load the simulator while the other client runs
		if err := compareAfterLoad(ctx, cfg, &res, cpuLoad, sim, auth, stats); err != nil {
			return res, err
		}
	} else if err := measureSteady(ctx, cfg, &res, mailboxes, auth, sim.url, changes); err != nil {
		return res, err
	}
	res.EngineP50, res.EngineP99 = lagQuantiles(reg)
	if !cfg.Restart && cfg.Compare == "" {
		res.OOF, err = oofPhase{st: st, client: client, control: auth, base: sim.url, mailboxes: mailboxes, changes: cfg.OOFChanges,
			interval: cmp.Or(cfg.OOFPollInterval, time.Minute)}.run(ctx)
		if err != nil {
			return res, err
		}
	}
	stats, err = simStats(ctx, auth, sim.url)
	if err != nil {
		return res, err
	}
	res.ThrottledByCode = stats.Throttled
	for _, v := range stats.Throttled {
		res.ThrottlingErrors += v
	}
	res.Stop = e.stop()
	return res, nil
}

// measureSteady measures idle CPU and then the change-to-synced delay of
// cfg.Changes changes, one at a time on random mailboxes.
func measureSteady(ctx context.Context, cfg Config, res *Result, mailboxes []string, auth ewsclient.HTTPClient, simURL string, changes *changeTracker) error {
	// Idle: nothing changes; heartbeats flow.
	if err := sleep(ctx, cfg.IdleAfter); err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(cfg.IdleProfile)
	if err != nil {
		return err
	}
	idle0, idleStart := cpuTime(), time.Now()
	err = sleep(ctx, cfg.Idle)
	stopProfile()
	if err != nil {
		return err
	}
	res.IdleCPUPercent = 100 * float64(cpuTime()-idle0) / float64(time.Since(idleStart))

	// Change-to-synced delay: one change at a time on a random mailbox.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < cfg.Changes; i++ {
		m := mailboxes[rng.IntN(len(mailboxes))]
		changes.begin(m)
		if err := createItem(ctx, auth, simURL, m, fmt.Sprintf("bench change %d", i), i); err != nil {
			return err
		}
		// Wait for the commit (bounded), then pace the next change.
		for j := 0; j < 100; j++ {
			if !changes.waiting(m) {
				break
			}
			if err := sleep(ctx, 5*time.Millisecond); err != nil {
				return err
			}
		}
	}
	ds := changes.sorted()
	res.Samples = len(ds)
	if len(ds) > 0 {
		res.P50 = ds[len(ds)*50/100]
		res.P99 = ds[min(len(ds)-1, len(ds)*99/100)]
		res.Max = ds[len(ds)-1]
	}
	return nil
}

// changeTracker times changes from their creation on the simulator to the
// engine's report of the mailbox.
type changeTracker struct {
	mu      sync.Mutex
	pending map[string]time.Time
	delays  []time.Duration
}

func (c *changeTracker) begin(smtp string) {
	c.mu.Lock()
	c.pending[smtp] = time.Now()
	c.mu.Unlock()
}

// changed is the engine's sink: it ends the mailbox's pending change.
func (c *changeTracker) changed(smtp string) {
	now := time.Now()
	c.mu.Lock()
	if t0, ok := c.pending[smtp]; ok {
		c.delays = append(c.delays, now.Sub(t0))
		delete(c.pending, smtp)
	}
	c.mu.Unlock()
}

func (c *changeTracker) waiting(smtp string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[smtp]
	return ok
}

func (c *changeTracker) sorted() []time.Duration {
	c.mu.Lock()
	ds := slices.Clone(c.delays)
	c.mu.Unlock()
	slices.Sort(ds)
	return ds
}

// runningEngine is an engine running in its own goroutine.
type runningEngine struct {
	e      *engine.Engine
	cancel context.CancelFunc
	done   chan error
}

func startEngine(ctx context.Context, opts engine.Options, mailboxes []string) (*runningEngine, error) {
	e, err := engine.New(opts)
	if err != nil {
		return nil, err
	}
	e.SetMailboxes(mailboxes)
	ectx, cancel := context.WithCancel(ctx)
	r := &runningEngine{e: e, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- e.Run(ectx) }()
	return r, nil
}

// stop ends the engine, waits for it and returns how long that took
// (0 when it was stopped before); later calls do nothing.
func (r *runningEngine) stop() time.Duration {
	if r.cancel == nil {
		return 0
	}
	start := time.Now()
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "bench: the engine ended with", err)
	}
	return time.Since(start)
}

// waitMemoryRelease waits (up to 30 s) until e has released the memory of
// its first load and returns how long that took; no wait unless expected.
func waitMemoryRelease(ctx context.Context, e *engine.Engine, expected bool) time.Duration {
	start := time.Now()
	for expected && e.MemoryReleases() == 0 && time.Since(start) < 30*time.Second {
		if sleep(ctx, 10*time.Millisecond) != nil {
			break
		}
	}
	return time.Since(start)
}

// allStreamed reports whether n subscriptions sit on open connections.
func allStreamed(gs []engine.GroupStatus, n int) bool {
	total := 0
	for _, g := range gs {
		for _, c := range g.Connections {
			if c.State != "open" {
				return false
			}
			total += c.Subscriptions
		}
	}
	return total == n
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func control(ctx context.Context, hc ewsclient.HTTPClient, method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("bench: %s %s: %s: %s", method, url, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func simMailboxes(ctx context.Context, hc ewsclient.HTTPClient, base, account string) ([]string, error) {
	var list []struct {
		SMTP string `json:"smtp"`
	}
	if err := control(ctx, hc, http.MethodGet, base+"/sim/v1/mailboxes", nil, &list); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range list {
		if m.SMTP != "" && !strings.EqualFold(m.SMTP, account) {
			out = append(out, m.SMTP)
		}
	}
	return out, nil
}

func simStats(ctx context.Context, hc ewsclient.HTTPClient, base string) (ewssim.Stats, error) {
	var s ewssim.Stats
	err := control(ctx, hc, http.MethodGet, base+"/sim/v1/stats", nil, &s)
	return s, err
}

func createItem(ctx context.Context, hc ewsclient.HTTPClient, base, smtp, subject string, i int) error {
	start := time.Now().UTC().Truncate(time.Minute).Add(time.Duration(1+i%48) * time.Hour)
	item := ewssim.ItemJSON{Subject: subject, Start: start, End: start.Add(30 * time.Minute), FreeBusy: "Busy"}
	return control(ctx, hc, http.MethodPost, base+"/sim/v1/mailboxes/"+smtp+"/items", item, nil)
}

// WriteTable prints results as a Markdown table.
func WriteTable(w io.Writer, rs []Result) {
	row := table(w, "metric", rs, func(r Result) string { return fmt.Sprintf("%d mailboxes", r.Mailboxes) })
	row("EWS authentication", func(r Result) string { return r.Auth })
	row("time to initial load (all live)", func(r Result) string { return r.InitialLoad.Round(10 * time.Millisecond).String() })
	row("time to all-subscribed (streamed)", func(r Result) string { return r.AllSubscribed.Round(10 * time.Millisecond).String() })
	row("EWS requests per mailbox (load + subscribe)", func(r Result) string { return fmt.Sprintf("%.3f", r.RequestsPerMailbox) })
	row("requests by operation", func(r Result) string { return fmtMap(r.Requests) })
	row("Autodiscover GetUserSettings requests (mailboxes per request)", func(r Result) string {
		return fmt.Sprintf("%d (%.1f)", r.AutodiscoverRequests, float64(r.Mailboxes)/float64(max(r.AutodiscoverRequests, 1)))
	})
	row("stop at the end: cancel → engine returned (every status stored)", func(r Result) string {
		if r.Stop == 0 {
			return "—"
		}
		return r.Stop.Round(time.Millisecond).String()
	})
	row("CalendarView requests by reason (load + subscribe)", func(r Result) string { return r.LoadCauses.fmtReads() })
	row("streaming connection events (load + subscribe)", func(r Result) string { return r.LoadCauses.fmtStreamEvents() })
	row("affinity groups / streaming connections (≤ Σ ceil(n/200))", func(r Result) string {
		return fmt.Sprintf("%d / %d (≤ %d)", r.Groups, r.Connections, r.MaxConnectionsNeed)
	})
	// steady marks figures a restart run does not measure.
	steady := func(f func(Result) string) func(Result) string {
		return func(r Result) string {
			if r.Restart != nil {
				return "— (restart run)"
			}
			if r.Compare != nil {
				return "— (comparison run)"
			}
			return f(r)
		}
	}
	row("change→synced p50 / p99 / max", steady(func(r Result) string {
		return fmt.Sprintf("%s / %s / %s (%d samples)", r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.Samples)
	}))
	row("engine share: first event→commit p50 / p99 (bucket bound)", steady(func(r Result) string {
		return fmt.Sprintf("≤ %s / ≤ %s", r.EngineP50, r.EngineP99)
	}))
	row("RSS per 1,000 mailboxes (engine process)", func(r Result) string { return fmt.Sprintf("%.1f MiB", r.RSSPer1000) })
	row("Go heap in use per 1,000 mailboxes", func(r Result) string { return fmt.Sprintf("%.1f MiB", r.HeapPer1000) })
	row("peak RSS during the load (engine process) / per mailbox (the binary's cgo setting: 0 is the release build)", func(r Result) string {
		return fmt.Sprintf("%.1f MiB / %.1f KiB (CGO_ENABLED=%s)", float64(r.PeakRSS)/(1<<20), float64(r.PeakRSS)/1024/float64(r.Mailboxes), cmp.Or(r.Cgo, "?"))
	})
	row("at the largest RSS sampled during the load (every 100 ms)", func(r Result) string { return r.AtPeak.String() })
	row("after the load (once the engine released its memory, +wait): RSS / heap in use / live heap (RSS ÷ live)", func(r Result) string {
		return fmt.Sprintf("%.1f / %.1f / %.1f MiB (%.2f×), +%s", float64(r.RSS)/(1<<20), float64(r.HeapInuse)/(1<<20), float64(r.HeapLive)/(1<<20), float64(r.RSS)/float64(max(r.HeapLive, 1)),
			r.ReleaseWait.Round(time.Millisecond))
	})
	row("of that RSS, every part: the mappings that hold it (one read of smaps; they add up to RSS) and, beside, the runtime/metrics classes in them", func(r Result) string { return r.AfterLoad.String() })
	row("CPU for initial load per 1,000 mailboxes", func(r Result) string { return r.CPULoadPer1000.Round(time.Millisecond).String() })
	row("garbage collections during the load", func(r Result) string { return fmt.Sprint(r.GCCycles) })
	row("CPU for initial load and the memory release after it, per 1,000 mailboxes", func(r Result) string {
		return r.CPUWithReleasePer1000.Round(time.Millisecond).String()
	})
	row("idle CPU (% of one core)", steady(func(r Result) string { return fmt.Sprintf("%.2f %%", r.IdleCPUPercent) }))
	oofRows(row)
	budgetRows(row)
	row("throttling errors from the simulator", func(r Result) string {
		if r.ThrottlingErrors == 0 {
			return "0"
		}
		return fmt.Sprintf("%d %s", r.ThrottlingErrors, fmtMap(r.ThrottledByCode))
	})
	if slices.ContainsFunc(rs, func(r Result) bool { return r.Restart != nil }) {
		writeRestartRows(row)
	}
	if slices.ContainsFunc(rs, func(r Result) bool { return r.Compare != nil }) {
		compareRows(row)
	}
}

func fmtMap(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// lagQuantiles reads the engine's sync-lag histogram and returns the
// bucket upper bounds holding the 50th and 99th percentiles.
func lagQuantiles(reg *prometheus.Registry) (p50, p99 time.Duration) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if mf.GetName() != "calsync_engine_sync_lag_seconds" || len(mf.GetMetric()) == 0 {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		total := h.GetSampleCount()
		at := func(q float64) time.Duration {
			for _, b := range h.GetBucket() {
				if float64(b.GetCumulativeCount()) >= q*float64(total) {
					return time.Duration(b.GetUpperBound() * float64(time.Second))
				}
			}
			return 0
		}
		return at(0.5), at(0.99)
	}
	return 0, 0
}
