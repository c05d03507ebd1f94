package app_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/testenv"
)

// TestEndToEndOverGraph: with exchange_online instead of exchange, calsync
// reads the simulated mailboxes through the simulator's Graph face (delta
// polling, no EWS configured): a meeting booked now makes the user busy,
// its deletion available again.
func TestEndToEndOverGraph(t *testing.T) {
	sim, c, a := startAppWithConfig(t, config.Pull, 3, func(s *appSetup) {
		gs, err := graphserver.New(s.sim, graphserver.Options{Tenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "graph-secret"})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gs)
		t.Cleanup(func() { srv.Close(); gs.Close() })
		s.cfg.Exchange = config.Defaults().Exchange // no EWS at all
		s.cfg.ExchangeOnline = &config.ExchangeOnline{TenantID: "contoso.onmicrosoft.com", ClientID: "app-1",
			ClientSecret: config.NewSecret("graph-secret", "test"), GraphURL: srv.URL + "/v1.0", LoginURL: srv.URL,
			Notifications: config.GraphNotifications{Mode: "delta", DeltaInterval: 200 * time.Millisecond}}
	})
	ctx := context.Background()
	testenv.WaitFor(t, "all mailboxes live over Graph", func() bool {
		return a.Engine().StateCounts()[engine.StateLive] == 3
	})
	testenv.WaitFor(t, "user2 available (empty calendar)", func() bool {
		p, err := c.Presence(ctx, "user2@example.com")
		return err == nil && p.Availability == "available"
	})
	now := time.Now().UTC().Truncate(time.Second)
	id, err := sim.AddCalendarItem("user2@example.com", ews.CalendarItem{Subject: "Graph review", Start: now.Add(-time.Minute),
		End: now.Add(30 * time.Minute), LegacyFreeBusyStatus: ews.FreeBusyBusy, IsMeeting: true})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "user2 busy through delta polling", func() bool {
		p, err := c.Presence(ctx, "user2@example.com")
		return err == nil && p.Availability == "busy"
	})
	if err := deleteItem(sim, "user2@example.com", id); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "user2 available after the deletion", func() bool {
		p, err := c.Presence(ctx, "user2@example.com")
		return err == nil && p.Availability == "available"
	})
}
