package graphexchange_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/graphexchange"
	"github.com/calsync/calsync/engine/graphexchange/graphtest"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// In webhook mode the engine learns of changes from Graph's change
// notifications alone (the safety-net delta round is an hour away): the
// simulator validates calsync's endpoint, delivers a change, calsync reads
// it; after reauthorizationRequired (renewed) and subscriptionRemoved
// (subscribed again) later changes still arrive.
func TestWebhookNotificationsDriveTheReads(t *testing.T) {
	sim := cloudSim(t, 3, 4)
	gs, gc := graphtest.Serve(t, sim, func(o *graphserver.Options) { o.NotifyInterval = 20 * time.Millisecond })

	x := graphtest.Webhook(t, gc, "calsync-test-state", time.Hour)
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
	testenv.WaitForWithin(t, time.Minute, "the initial load", converged)

	change := func(subject string) {
		now := time.Now().UTC().Truncate(time.Minute)
		if _, err := sim.AddCalendarItem(mailboxes[1], ews.CalendarItem{Subject: subject, Start: now.Add(time.Hour), End: now.Add(2 * time.Hour),
			LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
			t.Fatal(err)
		}
	}
	change("notified")
	testenv.WaitForWithin(t, time.Minute, "the change read after its notification", converged)

	if n, err := gs.SendLifecycle("reauthorizationRequired", mailboxes[1]); err != nil || n != 1 {
		t.Fatalf("reauthorizationRequired reached %d subscriptions: %v", n, err)
	}
	change("after reauthorizing")
	testenv.WaitForWithin(t, time.Minute, "a change after reauthorizationRequired (renewed by PATCH)", converged)

	if n, err := gs.SendLifecycle("subscriptionRemoved", mailboxes[1]); err != nil || n != 1 {
		t.Fatalf("subscriptionRemoved reached %d subscriptions: %v", n, err)
	}
	change("after resubscribing")
	testenv.WaitForWithin(t, time.Minute, "a change on the new subscription", converged)
}

// The engine subscribes again after a lost delta token, a denial or a
// rediscovery; none of these ends the Graph subscription, so the mailbox
// keeps the one it has instead of piling up subscriptions that deliver
// until they expire (Graph allows 1,000 per mailbox, across all apps).
// One Graph no longer knows is replaced.
func TestSubscribingAgainKeepsTheGraphSubscription(t *testing.T) {
	sim := cloudSim(t, 1, 4)
	gs, gc := graphtest.Serve(t, sim, nil)
	x := graphtest.Webhook(t, gc, "calsync-test-state", time.Hour)
	m := graphtest.Users(sim)[0]
	ctx := context.Background()
	target := engine.Target{SMTP: m}

	first, err := x.Subscribe(ctx, target, engine.SubscribeRequest{Mode: engine.Pull})
	if err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	again, err := x.Subscribe(ctx, target, engine.SubscribeRequest{Mode: engine.Pull})
	if err != nil {
		t.Fatalf("Subscribe again = %v", err)
	}
	if again.ID != first.ID || gs.Subscriptions(m) != 1 {
		t.Fatalf("subscribing again: id %q (first %q), %d Graph subscriptions; want the same id and 1", again.ID, first.ID, gs.Subscriptions(m))
	}

	if n, err := gs.SendLifecycle("subscriptionRemoved", m); err != nil || n != 1 {
		t.Fatalf("subscriptionRemoved reached %d subscriptions: %v", n, err)
	}
	// The lifecycle event is POSTed in the background; until it arrives
	// GetEvents has nothing to do.
	testenv.WaitFor(t, "GetEvents to report the removed subscription", func() bool {
		_, err := x.GetEvents(ctx, target, again.ID, again.Watermark)
		return engine.ErrorCode(err) == "ErrorSubscriptionNotFound"
	})
	renewed, err := x.Subscribe(ctx, target, engine.SubscribeRequest{Mode: engine.Pull})
	if err != nil {
		t.Fatalf("Subscribe after subscriptionRemoved = %v", err)
	}
	if renewed.ID == first.ID || gs.Subscriptions(m) != 1 {
		t.Fatalf("after subscriptionRemoved: id %q (removed %q), %d Graph subscriptions; want a new id and 1", renewed.ID, first.ID, gs.Subscriptions(m))
	}
}

// Older Graph documentation caps Outlook event subscriptions at 4,230
// minutes (the current one at 10,080); a tenant with the older limit
// refuses a longer expiry with 400, so the default lifetime stays under it.
func TestDefaultLifetimeFitsTheOlderLimit(t *testing.T) {
	sim := cloudSim(t, 1, 4)
	gs, gc := graphtest.Serve(t, sim, func(o *graphserver.Options) { o.MaxSubscriptionLifetime = 4230 * time.Minute })
	x := graphtest.Webhook(t, gc, "calsync-test-state", time.Hour)
	m := graphtest.Users(sim)[0]
	if _, err := x.Subscribe(context.Background(), engine.Target{SMTP: m}, engine.SubscribeRequest{Mode: engine.Pull}); err != nil {
		t.Fatalf("Subscribe with Graph's older 4,230-minute limit = %v", err)
	}
	if n := gs.Subscriptions(m); n != 1 {
		t.Fatalf("Graph subscriptions = %d, want 1", n)
	}
}

// A notification URL Graph cannot validate makes the subscription fail
// with a 400; that is reported as such (engine/recovery_graph.go's hint
// names the notification URL), not as Entra refusing the token request.
func TestUnvalidatedNotificationURLIsNamed(t *testing.T) {
	sim := cloudSim(t, 1, 4)
	_, gc := graphtest.Serve(t, sim, nil)
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	x := graphexchange.New(gc, &graphexchange.Options{Webhook: &graphexchange.WebhookOptions{
		NotificationURL: notFound.URL + "/graph/notifications", ClientState: "calsync-test-state"}})
	_, err := x.Subscribe(context.Background(), engine.Target{SMTP: graphtest.Users(sim)[0]}, engine.SubscribeRequest{Mode: engine.Pull})
	if code := engine.ErrorCode(err); code != graphexchange.CodeSubscription {
		t.Fatalf("Subscribe with an unreachable notification URL = %v (code %q), want %s", err, code, graphexchange.CodeSubscription)
	}
}
