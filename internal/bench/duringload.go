package bench

// Change-to-synced during a load: a tenth of the mailboxes is live when
// the rest is added (a cluster's takeover, mailboxes added in bulk), and
// while the rest loads, the live ones change one at a time. Each change
// is a notification's read of a live mailbox, which the engine's
// admission gate serves before the queued first loads (engine/admit.go);
// first come, first served, it waited for most of the load.

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/internal/ewsconn"
)

// duringLoadLiveShare: one mailbox in this many is live before the load.
const duringLoadLiveShare = 10

// DuringLoadConfig configures RunDuringLoad.
type DuringLoadConfig struct {
	Mailboxes, Servers int
	// CoalesceDelay is the engine's coalescing delay (0: 50 ms, as Run's).
	CoalesceDelay time.Duration
	// ChangeWait bounds the wait for one change's commit (0: 1 min); a
	// change not stored by then counts as unsynced and the next one
	// starts.
	ChangeWait time.Duration
	// LoadTimeout bounds the load of the rest (0: 20 ms per mailbox +
	// 2 min, as Run's): a mailbox that never goes live ends the run with
	// an error saying how far the load got, instead of changes forever.
	LoadTimeout time.Duration
	SimExe      string
	Logger      *slog.Logger
	Stderr      io.Writer
}

// DuringLoadResult is what RunDuringLoad measured.
type DuringLoadResult struct {
	Mailboxes, Live int
	// Load is the time from adding the rest to every mailbox live.
	Load time.Duration
	// The delays of the changes made while the rest loaded, from the
	// change on the simulator to the engine's commit of the mailbox.
	P50, P90, Max time.Duration
	Samples       int
	Unsynced      int // changes not stored within ChangeWait
}

// RunDuringLoad measures change → synced of live mailboxes while the
// others make their first load.
func RunDuringLoad(ctx context.Context, cfg DuringLoadConfig) (DuringLoadResult, error) {
	live := max(cfg.Mailboxes/duringLoadLiveShare, 1)
	res := DuringLoadResult{Mailboxes: cfg.Mailboxes, Live: live}
	sim, err := startSim(ctx, cfg.SimExe, cfg.Mailboxes, cfg.Servers, false, 0, cfg.Stderr)
	if err != nil {
		return res, err
	}
	defer sim.stop()
	conn, err := ewsconn.New(config.Exchange{EWSURL: sim.url + "/EWS/Exchange.asmx",
		Auth: config.Auth{Method: config.AuthBasic, Username: sim.account, Password: config.NewSecret(sim.password, "the simulator child")}},
		ewsconn.Options{MaxConnsPerHost: 1024})
	if err != nil {
		return res, err
	}
	control, err := sim.controlClient(1024)
	if err != nil {
		return res, err
	}
	mailboxes, err := simMailboxes(ctx, control, sim.url, sim.account)
	if err != nil {
		return res, err
	}
	if len(mailboxes) <= live {
		return res, fmt.Errorf("bench: %d mailboxes leave none to load after the %d live ones", len(mailboxes), live)
	}
	st, closeStore, err := tempStore("calsync-bench-")
	if err != nil {
		return res, err
	}
	defer closeStore()
	changes := &changeTracker{pending: map[string]time.Time{}}
	opts := engine.Options{Store: st, Exchange: ewsexchange.NewClient(conn.Client, sim.url+"/autodiscover/autodiscover.svc"),
		Logger: cfg.Logger, Sink: engine.SinkFuncs{Calendar: changes.changed}, CoalesceDelay: cmp.Or(cfg.CoalesceDelay, 50*time.Millisecond)}
	e, err := startEngine(ctx, opts, mailboxes[:live])
	if err != nil {
		return res, err
	}
	defer e.stop()
	if err := waitLive(ctx, e.e, live); err != nil {
		return res, fmt.Errorf("bench: the first %d mailboxes: %w", live, err)
	}

	start := time.Now()
	e.e.SetMailboxes(mailboxes)
	wait := cmp.Or(cfg.ChangeWait, time.Minute)
	loadTimeout := cmp.Or(cfg.LoadTimeout, time.Duration(len(mailboxes))*20*time.Millisecond+2*time.Minute)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; e.e.StateCounts()[engine.StateLive] < len(mailboxes); i++ {
		if time.Since(start) > loadTimeout {
			return res, fmt.Errorf("bench: only %d of %d mailboxes live %s after the rest was added (the load timeout; -load-timeout sets it)",
				e.e.StateCounts()[engine.StateLive], len(mailboxes), loadTimeout)
		}
		m := mailboxes[rng.IntN(live)]
		changes.begin(m)
		if err := createItem(ctx, control, sim.url, m, fmt.Sprintf("bench change during the load %d", i), i); err != nil {
			return res, err
		}
		t0 := time.Now()
		for changes.waiting(m) && time.Since(t0) < wait {
			if err := sleep(ctx, 5*time.Millisecond); err != nil {
				return res, err
			}
		}
		if changes.waiting(m) {
			res.Unsynced++
			changes.drop(m)
		}
	}
	res.Load = time.Since(start)
	ds := changes.sorted()
	res.Samples = len(ds)
	if len(ds) > 0 {
		res.P50, res.P90, res.Max = ds[len(ds)*50/100], ds[len(ds)*90/100], ds[len(ds)-1]
	}
	return res, nil
}

// waitLive waits until n mailboxes are live and streamed (2 min at most).
func waitLive(ctx context.Context, e *engine.Engine, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for e.StateCounts()[engine.StateLive] < n || !allStreamed(e.Groups(), n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("not live and streamed after 2 min: states %v", e.StateCounts())
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// drop forgets a mailbox's pending change (it was not stored in time).
func (c *changeTracker) drop(smtp string) {
	c.mu.Lock()
	delete(c.pending, smtp)
	c.mu.Unlock()
}

// WriteDuringLoadTable prints during-load results as a Markdown table.
func WriteDuringLoadTable(w io.Writer, rs []DuringLoadResult) {
	row := table(w, "metric", rs, func(r DuringLoadResult) string {
		return fmt.Sprintf("%d mailboxes, %d live first", r.Mailboxes, r.Live)
	})
	row("load of the rest (added → all live)", func(r DuringLoadResult) string { return r.Load.Round(10 * time.Millisecond).String() })
	row("change of a live mailbox → stored during that load, p50 / p90 / max", func(r DuringLoadResult) string {
		return fmt.Sprintf("%s / %s / %s (%d samples)", r.P50.Round(time.Millisecond), r.P90.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.Samples)
	})
	row("changes not stored within the wait", func(r DuringLoadResult) string { return fmt.Sprint(r.Unsynced) })
}
