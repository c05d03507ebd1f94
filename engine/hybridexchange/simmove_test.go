package hybridexchange_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/engine/graphexchange"
	"github.com/calsync/calsync/engine/graphexchange/graphtest"
	"github.com/calsync/calsync/engine/hybridexchange"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/graph/graphserver/hybrid"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store/memstore"
)

// The simulator's hybrid organisation (one mailbox model, EWS and Graph
// faces, cloud hosting, moves with a move-in-progress phase and new item
// ids): the engine streams the on-premises mailboxes and polls the cloud
// ones through the router while the simulator churns and mailboxes move
// both ways. Afterwards 0 divergent mailboxes, each served from where it
// lives; throughout, every mailbox's data stays trusted (presence never
// turns unknown because of a move).
func TestSimulatorMovesBothWaysUnderChurn(t *testing.T) {
	h, err := hybrid.New(hybrid.Options{
		Sim:            ewssim.Options{Options: ewsmem.Options{Mailboxes: 10, Servers: 2, Seed: 11}, Generate: true},
		Graph:          graphserver.Options{Tenant: graphtest.Tenant, ClientID: graphtest.ClientID, ClientSecret: graphtest.Secret},
		CloudMailboxes: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ts, err := graphclient.NewTokenSource(graphclient.Credentials{TenantID: graphtest.Tenant, ClientID: graphtest.ClientID, ClientSecret: graphtest.Secret, LoginURL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := graphclient.New(ts, &graphclient.Options{GraphURL: srv.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	mailboxes := h.UserMailboxes()
	st := memstore.New()
	router := hybridexchange.New(ewsexchange.NewInProcess(h.Simulator, h.ServiceAccount(), "https://sim.example.com"), graphexchange.New(gc, nil),
		&hybridexchange.Options{Store: st, PollInterval: 50 * time.Millisecond})
	e, err := engine.New(engine.Options{Store: st, Exchange: router, Mode: engine.Streaming,
		CoalesceDelay: 20 * time.Millisecond, ReconcileInterval: -1, OOFPollInterval: -1,
		RegroupDelay: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		HeartbeatTimeout: 3 * time.Second, DiscoverBatchDelay: 5 * time.Millisecond, SlowRetry: time.Hour,
		Budget: engine.BudgetConfig{MaxBackOff: time.Second, ThrottlePause: 50 * time.Millisecond, CredentialPause: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	e.SetMailboxes(mailboxes)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	var last []string
	divergent := func() []string {
		out := graphtest.Divergent(t, h.Simulator, st, mailboxes)
		for _, m := range mailboxes {
			where, moving, _ := h.Hosting(m)
			if side, _ := router.SideOf(m); moving == "" && (side == hybridexchange.Cloud) != (where == ewsmem.Cloud) {
				out = append(out, fmt.Sprintf("%s: served from %q, lives on %s", m, side, where))
			}
		}
		return out
	}
	testenv.WaitForWithin(t, time.Minute, "every mailbox synced from its side", func() bool { last = divergent(); return len(last) == 0 })

	var untrusted atomic.Value
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			for _, m := range mailboxes {
				rec, err := st.Mailbox(context.Background(), m)
				if err != nil {
					continue
				}
				if live, err := e.Status(m); err == nil {
					rec.Status = live
				}
				if !presence.DefaultTrusted(rec) && untrusted.Load() == nil {
					untrusted.Store(fmt.Sprintf("%s: state %s, failures %d, error %+v", m, rec.Status.State, rec.Status.ConsecutiveFailures, rec.Status.LastError))
				}
			}
		}
	}()

	if err := h.StartChurn(20, 3); err != nil {
		t.Fatal(err)
	}
	// Two to the cloud, two back on premises, each with a move phase of
	// 300 ms (EWS: ErrorMailboxMoveInProgress, Graph: not enabled).
	moved := []string{mailboxes[0], mailboxes[1], mailboxes[len(mailboxes)-1], mailboxes[len(mailboxes)-2]}
	for _, m := range moved {
		target := ewsmem.Cloud
		if where, _, _ := h.Hosting(m); where == ewsmem.Cloud {
			target, _ = h.MailboxServer(m)
		}
		if err := h.Move(m, target, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, m+" moved", func() bool { _, moving, _ := h.Hosting(m); return moving == "" })
	}
	h.StopChurn()
	testenv.WaitForWithin(t, time.Minute, "0 divergent mailboxes after moves both ways under churn", func() bool { last = divergent(); return len(last) == 0 })
	close(stop)
	watch.Wait()
	if v := untrusted.Load(); v != nil {
		t.Errorf("a mailbox's data was untrusted while moving: %s", v)
	}
	if t.Failed() {
		t.Logf("divergent: %v", last)
	}
}
