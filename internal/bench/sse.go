package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/app"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/presence"
)

// SSEConfig is `calsync bench -sse`: a whole calsync instance, built from
// a configuration as `calsync run` builds it (engine, bolt store, presence
// scheduler, event log, REST API and SSE on a loopback listener), against
// the simulator child; an SSE client of /api/v1/events measures the delay
// from a calendar change in the simulator to the presence event it causes.
type SSEConfig struct {
	Mailboxes, Servers int
	// Changes are made on distinct random mailboxes, Interval apart
	// (0: 200 ms), without waiting for the previous one's event.
	Changes  int
	Interval time.Duration
	// CoalesceDelay is exchange.notifications.coalesce_delay (0: the
	// default config's, 2 s).
	CoalesceDelay time.Duration
	SimExe        string
	Logger        *slog.Logger
	Stderr        io.Writer
}

// SSEResult is what one SSE run measured.
type SSEResult struct {
	Mailboxes     int
	CoalesceDelay time.Duration
	InitialLoad   time.Duration // the instance's start → every mailbox live
	// Requests (by operation) and ThrottlingErrors are the simulator's
	// counts when every mailbox was live.
	Requests         map[string]int64
	ThrottlingErrors int64
	P50, P99, Max    time.Duration
	Samples          int
	// Missed changes brought no event within the wait; Skipped mailboxes
	// were out of office already (a new OOF item would change nothing).
	Missed, Skipped int
}

// RunSSE measures change → presence event received by an SSE client.
func RunSSE(ctx context.Context, cfg SSEConfig) (SSEResult, error) {
	coalesce := cmp.Or(cfg.CoalesceDelay, config.Defaults().Exchange.Notifications.CoalesceDelay)
	res := SSEResult{Mailboxes: cfg.Mailboxes, CoalesceDelay: coalesce}
	sim, err := startSim(ctx, cfg.SimExe, cfg.Mailboxes, cfg.Servers, false, 0, cfg.Stderr)
	if err != nil {
		return res, err
	}
	defer sim.stop()
	ctl, err := sim.controlClient(64)
	if err != nil {
		return res, err
	}
	mailboxes, err := simMailboxes(ctx, ctl, sim.url, sim.account)
	if err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp("", "calsync-bench-sse-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	c := config.Defaults()
	c.Exchange.EWSURL = sim.url + "/EWS/Exchange.asmx"
	c.Exchange.AutodiscoverURL = sim.url + "/autodiscover/autodiscover.svc"
	c.Exchange.Auth = config.Auth{Method: config.AuthBasic, Username: sim.account, Password: config.NewSecret(sim.password, "the simulator child")}
	c.Exchange.Notifications.CoalesceDelay = coalesce
	c.Store.Path = filepath.Join(dir, "calsync.db")
	c.Users.Static = mailboxes
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	start := time.Now()
	a, err := app.New(ctx, app.Options{Config: c, Logger: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)), Listener: ln})
	if err != nil {
		return res, err
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx, nil) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintln(cfg.Stderr, "bench: the instance ended with", err)
			}
		case <-time.After(time.Minute): // a loaded machine stores every status on the way out
			fmt.Fprintln(cfg.Stderr, "bench: the instance did not stop within a minute")
		}
	}()

	deadline := start.Add(time.Duration(cfg.Mailboxes)*50*time.Millisecond + 5*time.Minute)
	for a.Engine().StateCounts()[engine.StateLive] < cfg.Mailboxes {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("not all live after %s: states %v", time.Since(start).Round(time.Second), a.Engine().StateCounts())
		}
		select {
		case err := <-done:
			return res, fmt.Errorf("bench: the instance ended: %w", err)
		default:
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return res, err
		}
	}
	res.InitialLoad = time.Since(start)
	stats, err := simStats(ctx, ctl, sim.url)
	if err != nil {
		return res, err
	}
	res.Requests, res.ThrottlingErrors = stats.Requests, sumCounts(stats.Throttled)

	client, err := apiclient.New(a.URL(), "", nil)
	if err != nil {
		return res, err
	}
	stream, err := client.Events(actx, "")
	if err != nil {
		return res, err
	}
	defer stream.Close()
	arrivals := &changeTracker{pending: map[string]time.Time{}}
	go readPresenceEvents(stream, arrivals)

	rng := rand.New(rand.NewPCG(3, 4))
	order := rng.Perm(len(mailboxes))
	interval := cmp.Or(cfg.Interval, 200*time.Millisecond)
	for i := 0; i < cfg.Changes && i < len(order); i++ {
		m := mailboxes[order[i]]
		p, err := client.Presence(ctx, m)
		if err != nil {
			return res, err
		}
		if p.Availability == string(presence.OutOfOffice) {
			res.Skipped++
			continue
		}
		now := time.Now().UTC()
		arrivals.begin(m)
		item := ewssim.ItemJSON{Subject: fmt.Sprintf("bench sse %d", i), Start: now.Add(-time.Minute), End: now.Add(30 * time.Minute), FreeBusy: "OOF"}
		if err := control(ctx, ctl, http.MethodPost, sim.url+"/sim/v1/mailboxes/"+m+"/items", item, nil); err != nil {
			return res, err
		}
		if err := sleep(ctx, interval); err != nil {
			return res, err
		}
	}
	// The last changes' events: coalescing plus a generous margin.
	for wait := time.Now().Add(coalesce + 30*time.Second); arrivals.outstanding() > 0 && time.Now().Before(wait); {
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return res, err
		}
	}
	res.Missed = arrivals.outstanding()
	ds := arrivals.sorted()
	res.Samples = len(ds)
	if len(ds) > 0 {
		res.P50, res.P99, res.Max = ds[len(ds)*50/100], ds[min(len(ds)-1, len(ds)*99/100)], ds[len(ds)-1]
	}
	return res, nil
}

// readPresenceEvents ends a pending change when the stream brings its
// mailbox's presence event with the new availability (out of office).
func readPresenceEvents(stream *apiclient.EventStream, arrivals *changeTracker) {
	for {
		ev, err := stream.Next()
		if err != nil {
			return
		}
		if ev.Type != api.EventPresenceChanged {
			continue
		}
		var pc api.PresenceChangedEvent
		if json.Unmarshal([]byte(ev.Data), &pc) == nil && pc.Current.Availability == string(presence.OutOfOffice) {
			arrivals.changed(pc.User)
		}
	}
}

// outstanding counts changes still waiting for their event.
func (c *changeTracker) outstanding() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// WriteSSETable prints SSE results as a Markdown table.
func WriteSSETable(w io.Writer, rs []SSEResult) {
	row := table(w, "metric", rs, func(r SSEResult) string {
		return fmt.Sprintf("%d mailboxes, coalescing %s", r.Mailboxes, r.CoalesceDelay)
	})
	row("time to initial load (all live, whole instance)", func(r SSEResult) string { return r.InitialLoad.Round(10 * time.Millisecond).String() })
	row("EWS requests per mailbox until all live / throttling errors", func(r SSEResult) string {
		return fmt.Sprintf("%.3f / %d", float64(sumCounts(r.Requests))/float64(max(r.Mailboxes, 1)), r.ThrottlingErrors)
	})
	row("requests by operation until all live", func(r SSEResult) string { return fmtMap(r.Requests) })
	row("change in the simulator → presence event at an SSE client, p50 / p99 / max", func(r SSEResult) string {
		return fmt.Sprintf("%s / %s / %s (%d samples)", r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.Samples)
	})
	row("changes without an event (missed) / mailboxes skipped (already out of office)", func(r SSEResult) string {
		return fmt.Sprintf("%d / %d", r.Missed, r.Skipped)
	})
}
