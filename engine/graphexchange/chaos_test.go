package graphexchange_test

import (
	"testing"
	"time"

	"github.com/calsync/calsync/engine/graphexchange/graphtest"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestChaosOverGraph runs the engine in webhook mode over the simulator's
// Graph face while calendars churn and Graph misbehaves in every way
// graph-facts.md lists: 429s and 503s with Retry-After, revoked tokens and
// 401s, expired delta tokens, reauthorizationRequired, subscriptionRemoved
// and missed lifecycle events. Afterwards: 0 divergent mailboxes.
func TestChaosOverGraph(t *testing.T) {
	sim := cloudSim(t, 30, 13)
	gs, gc := graphtest.Serve(t, sim, func(o *graphserver.Options) { o.NotifyInterval = 50 * time.Millisecond })
	x := graphtest.Webhook(t, gc, "chaos", 5*time.Second)
	mailboxes := graphtest.Users(sim)
	st := memstore.New()
	graphtest.StartPull(t, x, st, mailboxes)

	var last []string
	defer func() {
		if t.Failed() {
			t.Logf("divergent: %v", last)
		}
	}()
	converged := func() bool { last = graphtest.Divergent(t, sim, st, mailboxes); return len(last) == 0 }
	testenv.WaitForWithin(t, 2*time.Minute, "the initial load", converged)

	if err := sim.StartChurn(30, 9); err != nil {
		t.Fatal(err)
	}
	changes := func(n int64) func() bool { return func() bool { return sim.Stats().ChurnChanges >= n } }
	faults := []func(){
		func() { _ = gs.SetFaults(graphserver.Faults{ThrottlePercent: 20, UnavailablePercent: 5}) },
		func() { gs.RevokeTokens() },
		func() { gs.FailNextRequests(5) },
		func() {
			for _, m := range mailboxes[:10] {
				gs.ExpireDeltaTokens(m)
			}
		},
		func() { _, _ = gs.SendLifecycle(graphserver.ReauthorizationRequired, mailboxes[11]) },
		func() { _, _ = gs.SendLifecycle(graphserver.SubscriptionRemoved, mailboxes[12]) },
		func() { _, _ = gs.SendLifecycle(graphserver.Missed, mailboxes[13]) },
		func() { _ = gs.SetFaults(graphserver.Faults{}) },
	}
	for i, f := range faults {
		f()
		testenv.WaitFor(t, "more churn", changes(int64(15*(i+1))))
	}
	sim.StopChurn()
	testenv.WaitForWithin(t, 3*time.Minute, "0 divergent mailboxes after churn and faults", converged)
}
