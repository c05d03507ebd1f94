package ewsexchange_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/store/memstore"
)

// newHTTPSim serves a simulator over HTTP (Basic auth) and returns it with
// an engine.Exchange that talks to it through ewsclient: the wire path.
func newHTTPSim(t testing.TB, n, servers int) (*ewssim.Simulator, *ewsexchange.Client) {
	t.Helper()
	sim, _, ex := newHTTPSimClient(t, n, servers)
	return sim, ex
}

// newHTTPSimClient is newHTTPSim that also returns the raw EWS client, for
// tests that change mailboxes over EWS as another client would.
func newHTTPSimClient(t testing.TB, n, servers int) (*ewssim.Simulator, *ewsclient.Client, *ewsexchange.Client) {
	t.Helper()
	return newHTTPSimBehind(t, n, servers, nil)
}

// newHTTPSimBehind is newHTTPSimClient with the simulator's handler behind
// wrap (nil: none), which sees every request first.
func newHTTPSimBehind(t testing.TB, n, servers int, wrap func(http.Handler) http.Handler) (*ewssim.Simulator, *ewsclient.Client, *ewsexchange.Client) {
	t.Helper()
	sim, err := ewssim.New(ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: n, Servers: servers, Seed: 42, StreamingHeartbeat: 300 * time.Millisecond}, Basic: true})
	if err != nil {
		t.Fatalf("ewssim.New: %v", err)
	}
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	hc, err := ewsclient.NewHTTPClient(&ewsclient.TransportOptions{MaxConnsPerHost: 256, MaxIdleConnsPerHost: 64})
	if err != nil {
		t.Fatalf("NewHTTPClient: %v", err)
	}
	name, password, ok := sim.Password(sim.ServiceAccount())
	if !ok {
		t.Fatalf("no password for the service account")
	}
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: ewsclient.BasicAuth(hc, name, password)})
	if err != nil {
		t.Fatalf("ewsclient.New: %v", err)
	}
	return sim, c, ewsexchange.NewClient(c, srv.URL+"/autodiscover/autodiscover.svc")
}

// TestHTTPConvergesToGroundTruth is the end-to-end proof over the wire:
// ewsclient against the simulator's EWS handler, streaming and pull;
// creates, modifications and deletions of single items, a recurring series
// with an exception and a deleted occurrence, and the simulator's own churn
// converge to its ground truth.
func TestHTTPConvergesToGroundTruth(t *testing.T) {
	for _, mode := range []engine.Mode{engine.Streaming, engine.Pull} {
		t.Run(string(mode), func(t *testing.T) {
			sim, ex := newHTTPSim(t, 12, 2)
			x := sim
			mbs := users(x)
			st := memstore.New()
			r := startEngine(t, ex, st, mode, mbs, nil)
			waitAllLive(t, r.e, len(mbs), 30*time.Second)
			waitConverged(t, x, st, mbs, 10*time.Second)
			if n := totalStored(t, st, mbs); n < len(mbs)*5 {
				t.Fatalf("only %d occurrences stored for %d generated mailboxes", n, len(mbs))
			}
			for _, m := range mbs[:4] {
				edits(t, x, m)
			}
			waitConverged(t, x, st, mbs, 10*time.Second)
			if err := x.StartChurn(20, 3); err != nil {
				t.Fatalf("StartChurn: %v", err)
			}
			time.Sleep(2 * time.Second) // let the churn run
			x.StopChurn()
			waitConverged(t, x, st, mbs, 15*time.Second)
			stats := x.Stats()
			if len(stats.Throttled) > 0 {
				t.Errorf("simulator throttled calsync: %v, want no throttling errors", stats.Throttled)
			}
			if mode == engine.Streaming {
				for _, g := range r.e.Groups() {
					if !g.HasCookie || len(g.Connections) != 1 {
						t.Errorf("group %s: cookie %v, %d connections; want a cookie and 1 connection", g.Key, g.HasCookie, len(g.Connections))
					}
				}
			}
		})
	}
}

// TestHTTPChaos is a smaller chaos run over the wire, in both modes:
// dropped and silent streams, ErrorServerBusy, HTTP 401s, a server restart,
// a mailbox move and subscription expiry while the calendars churn.
func TestHTTPChaos(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 20
	}
	for _, mode := range []engine.Mode{engine.Streaming, engine.Pull} {
		t.Run(string(mode), func(t *testing.T) {
			sim, ex := newHTTPSim(t, n, 2)
			x := sim
			mbs := users(x)
			st := memstore.New()
			r := startEngine(t, ex, st, mode, mbs, func(o *engine.Options) { o.HeartbeatTimeout = 1500 * time.Millisecond })
			waitAllLive(t, r.e, len(mbs), 30*time.Second)
			if err := x.StartChurn(30, 5); err != nil {
				t.Fatalf("StartChurn: %v", err)
			}
			on, off := true, false
			faults := []ewssim.Fault{
				{Kind: ewssim.FaultServerBusy, Percent: 10},
				{Kind: ewssim.FaultDropStreams},
				{Kind: ewssim.FaultSilentStreams, Enable: &on},
				{Kind: ewssim.FaultSilentStreams, Enable: &off},
				{Kind: ewssim.FaultUnauthorized, Count: 3},
				{Kind: ewssim.FaultMoveMailbox, Mailbox: mbs[1]},
				{Kind: ewssim.FaultRestart},
				{Kind: ewssim.FaultServerBusy, Percent: 0},
				{Kind: ewssim.FaultExpireSubscriptions},
			}
			for _, f := range faults {
				time.Sleep(500 * time.Millisecond) // chaos schedule
				if _, err := x.InjectFault(f); err != nil {
					t.Fatalf("InjectFault(%s): %v", f.Kind, err)
				}
				t.Logf("fault: %s", f.Kind)
			}
			time.Sleep(500 * time.Millisecond)
			x.StopChurn()
			if _, err := x.InjectFault(ewssim.Fault{Kind: ewssim.FaultClear}); err != nil {
				t.Fatal(err)
			}
			stats := x.Stats()
			waitConverged(t, x, st, mbs, 30*time.Second)
			t.Logf("changes: %d, faults: %d, divergences: 0 of %d mailboxes", stats.ChurnChanges, len(faults), len(mbs))
		})
	}
}
