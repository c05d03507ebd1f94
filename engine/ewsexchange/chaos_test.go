package ewsexchange_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/store/boltstore"
)

// How long TestChaos waits for all mailboxes to be live and for
// convergence: about three times the initial load and twice the convergence
// seen on a loaded 2-core machine, and together short enough that the
// package stays inside scripts/test's 12-minute go test timeout.
const (
	chaosLoadWait     = 3 * time.Minute
	chaosConvergeWait = 5 * time.Minute
)

// TestChaos runs the engine over the simulator while the simulator churns
// calendars and faults are injected: dropped and silent streams, a share of
// ErrorServerBusy, subscription expiry, server restarts, mailbox moves and
// an engine restart over the same (bolt) store. At the end every mailbox's
// stored occurrences must equal the ground truth. Reconciliation is off, so
// convergence comes from notifications and recovery alone.
//
// Default: 250 mailboxes, ~20 s of churn (0.3 changes per mailbox and
// second). With -short: 100 mailboxes, ~8 s.
//
// The size: 250 mailboxes on 3 servers make three streaming groups of
// ~83, each on one connection, as 500 did (≤ 200 per connection); the
// faults and the churn per mailbox are the same, so what converging
// proves is too. 500 cost more than twice as much: at load 10–13, -race,
// 57.0 s with 500 (load 13.0 s, converged 12.1 s after the last change)
// and 27.1 s with 250 (2.3 s, 0.7 s); at load 18 the 500 took 125 s of the
// package's 277 s. Scale is proven by test/clusterchaos (600 mailboxes)
// and the benchmarks.
//
// The waits' limits bound a hung test; they are not what it asserts. On a
// loaded 2-core machine (CI runs every package at once) the initial load
// of 500 took 39–62 s and convergence 49–147 s.
func TestChaos(t *testing.T) {
	n, phase, rate := 250, 20*time.Second, 75.0
	if testing.Short() {
		n, phase, rate = 100, 8*time.Second, 40.0
	}
	x := newSim(t, n, 3, func(o *ewsmem.Options) { o.StreamingHeartbeat = 300 * time.Millisecond })
	mbs := users(x)
	path := filepath.Join(t.TempDir(), "calsync.db")
	st, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatalf("boltstore.Open: %v", err)
	}
	ex := ewsexchange.NewInProcess(x, x.ServiceAccount(), "https://sim.example.com")
	tweak := func(o *engine.Options) {
		o.HeartbeatTimeout = 1500 * time.Millisecond
		o.Budget.RequestsPerSecond = 1000
	}
	r := startEngine(t, ex, st, engine.Streaming, mbs, tweak)
	start := time.Now()
	waitAllLive(t, r.e, len(mbs), chaosLoadWait)
	t.Logf("initial load of %d mailboxes: %s", len(mbs), time.Since(start).Round(time.Millisecond))

	if err := x.StartChurn(rate, 7); err != nil {
		t.Fatalf("StartChurn: %v", err)
	}
	rng := rand.New(rand.NewPCG(11, 13))
	on, off := true, false
	servers := x.Servers()
	type step struct {
		name string
		do   func() error
	}
	inject := func(f ewssim.Fault) func() error {
		return func() error { _, err := x.InjectFault(f); return err }
	}
	move := func() error {
		m := mbs[rng.IntN(len(mbs))]
		_, err := x.InjectFault(ewssim.Fault{Kind: ewssim.FaultMoveMailbox, Mailbox: m})
		return err
	}
	steps := []step{
		{"server-busy 10%", inject(ewssim.Fault{Kind: ewssim.FaultServerBusy, Percent: 10})},
		{"drop streams", inject(ewssim.Fault{Kind: ewssim.FaultDropStreams})},
		{"move mailbox", move},
		{"silent streams on", inject(ewssim.Fault{Kind: ewssim.FaultSilentStreams, Enable: &on})},
		{"expire subscriptions", inject(ewssim.Fault{Kind: ewssim.FaultExpireSubscriptions})},
		{"silent streams off", inject(ewssim.Fault{Kind: ewssim.FaultSilentStreams, Enable: &off})},
		{"restart one server", inject(ewssim.Fault{Kind: ewssim.FaultRestart, Server: servers[len(servers)-1]})},
		{"server-busy off", inject(ewssim.Fault{Kind: ewssim.FaultServerBusy, Percent: 0})},
		{"five HTTP 401 answers", inject(ewssim.Fault{Kind: ewssim.FaultUnauthorized, Count: 5})},
		{"restart calsync over the same store", func() error {
			r.stop()
			r = startEngine(t, ex, st, engine.Streaming, mbs, tweak)
			return nil
		}},
		{"move mailbox", move},
		{"restart all servers", inject(ewssim.Fault{Kind: ewssim.FaultRestart})},
		{"drop streams", inject(ewssim.Fault{Kind: ewssim.FaultDropStreams})},
		{"move mailbox", move},
	}
	every := phase / time.Duration(len(steps))
	for _, s := range steps {
		time.Sleep(every) // the chaos schedule: faults spread over the churn phase
		if err := s.do(); err != nil {
			t.Fatalf("fault %q: %v", s.name, err)
		}
		t.Logf("%6s fault: %s", time.Since(start).Round(time.Millisecond), s.name)
	}
	time.Sleep(every)
	x.StopChurn()
	if _, err := x.InjectFault(ewssim.Fault{Kind: ewssim.FaultClear}); err != nil {
		t.Fatalf("clear faults: %v", err)
	}
	stats := x.Stats()
	t.Logf("changes made by churn: %d; faults injected: %d", stats.ChurnChanges, len(steps))
	settle := time.Now()
	waitConverged(t, x, st, mbs, chaosConvergeWait)
	t.Logf("converged %s after the last change; divergences: 0 of %d mailboxes", time.Since(settle).Round(time.Millisecond), len(mbs))
	t.Logf("simulator: %d requests (%s per mailbox), throttled %v, %d streaming connections now",
		stats.RequestsTotal, fmt.Sprintf("%.1f", float64(stats.RequestsTotal)/float64(len(mbs))), stats.Throttled, x.Stats().StreamingConnections)
	r.stop()
	if err := st.Close(); err != nil {
		t.Errorf("closing the store: %v", err)
	}
}
