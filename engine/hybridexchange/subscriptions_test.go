package hybridexchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/engine/graphexchange/graphtest"
	"github.com/calsync/calsync/engine/hybridexchange"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// A cloud mailbox with a Graph webhook subscription moves on premises: the
// router deletes the subscription when Graph first refuses the mailbox,
// instead of leaving it on Graph until it expires (days).
func TestMoveOnPremisesEndsTheGraphSubscription(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: 2, Seed: 5}, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	mailboxes := graphtest.Users(sim)
	m := mailboxes[1]
	h := &hosting{cloud: map[string]bool{}}
	h.move(m, true)
	gs, gc := graphtest.Serve(t, cloudModel{sim, h}, nil)
	cloud := graphtest.Webhook(t, gc, "calsync-test-state", time.Hour)
	router := hybridexchange.New(onPremOnly{ewsexchange.NewInProcess(sim, sim.ServiceAccount(), "https://sim.example.com"), h}, cloud, nil)
	router.Place(m, hybridexchange.Cloud)

	ctx := context.Background()
	target := engine.Target{SMTP: m}
	if _, err := router.Subscribe(ctx, target, engine.SubscribeRequest{Mode: engine.Pull}); err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	if n := gs.Subscriptions(m); n != 1 {
		t.Fatalf("Graph subscriptions of %s after subscribing = %d, want 1", m, n)
	}

	h.move(m, false)
	now := time.Now()
	_, err = router.CalendarView(ctx, target, now, now.Add(time.Hour), 100)
	if code := engine.ErrorCode(err); code != hybridexchange.CodeMoved {
		t.Fatalf("CalendarView after the move = %v (code %q), want %s", err, code, hybridexchange.CodeMoved)
	}
	if n := gs.Subscriptions(m); n != 0 {
		t.Errorf("Graph subscriptions of %s after it moved on premises = %d, want 0", m, n)
	}
}
