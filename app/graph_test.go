package app_test

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/testenv"
)

// TestEndToEndOverGraph: with exchange_online instead of exchange, calsync
// reads the simulated mailboxes through the simulator's Graph face (delta
// polling, no EWS configured): a meeting booked now makes the user busy,
// its deletion available again.
func TestEndToEndOverGraph(t *testing.T) {
	for _, mode := range []string{"delta", "webhook"} {
		t.Run(mode, func(t *testing.T) { endToEndOverGraph(t, mode) })
	}
}

// endToEndOverGraph: in webhook mode the safety-net delta round is an hour
// away, so the changes can only come through Graph's notifications to
// calsync's listener (config.GraphNotifyPath).
func endToEndOverGraph(t *testing.T, mode string) {
	sim, c, a := startAppWithConfig(t, config.Pull, 3, func(s *appSetup) {
		// Graph serves cloud mailboxes only (ewsmem's hybrid hosting).
		if err := s.sim.PlaceInCloud(s.sim.Mailboxes()...); err != nil {
			t.Fatal(err)
		}
		gs, err := graphserver.New(s.sim, graphserver.Options{Tenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "graph-secret",
			NotifyInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gs)
		t.Cleanup(func() { srv.Close(); gs.Close() })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.opts.Listener = ln
		n := config.GraphNotifications{Mode: mode, DeltaInterval: 200 * time.Millisecond}
		if mode == "webhook" {
			n.DeltaInterval, n.PublicURL = time.Hour, "http://"+ln.Addr().String()
		}
		s.cfg.Exchange = config.Defaults().Exchange // no EWS at all
		s.cfg.ExchangeOnline = &config.ExchangeOnline{TenantID: "contoso.onmicrosoft.com", ClientID: "app-1",
			ClientSecret: config.NewSecret("graph-secret", "test"), GraphURL: srv.URL + "/v1.0", LoginURL: srv.URL, Notifications: n}
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
	if err := sim.DeleteCalendarItem("user2@example.com", ews.ItemRef{Item: &id}); err != nil { // the model: EWS refuses a cloud mailbox
		t.Fatal(err)
	}
	testenv.WaitFor(t, "user2 available after the deletion", func() bool {
		p, err := c.Presence(ctx, "user2@example.com")
		return err == nil && p.Availability == "available"
	})
}

// lastInCloud is the simulator with its last mailboxes hosted in the cloud
// (graphserver.Hosting): Graph answers the others MailboxNotEnabledForRESTAPI.
type lastInCloud struct {
	*ewssim.Simulator
	cloud map[string]bool
}

func (l lastInCloud) InCloud(smtp string) bool { return l.cloud[strings.ToLower(smtp)] }

// TestHybridServesEachMailboxFromItsSide: with exchange and exchange_online
// both configured, the mailboxes Graph serves are read over Graph, the
// others over EWS, all live.
func TestHybridServesEachMailboxFromItsSide(t *testing.T) {
	cloud := map[string]bool{"user3@example.com": true, "user4@example.com": true}
	_, c, a := startAppWithConfig(t, config.Streaming, 4, func(s *appSetup) {
		gs, err := graphserver.New(lastInCloud{s.sim, cloud}, graphserver.Options{Tenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "graph-secret"})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gs)
		t.Cleanup(func() { srv.Close(); gs.Close() })
		s.cfg.ExchangeOnline = &config.ExchangeOnline{TenantID: "contoso.onmicrosoft.com", ClientID: "app-1",
			ClientSecret: config.NewSecret("graph-secret", "test"), GraphURL: srv.URL + "/v1.0", LoginURL: srv.URL,
			Notifications: config.GraphNotifications{Mode: "delta", DeltaInterval: 200 * time.Millisecond}}
	})
	testenv.WaitFor(t, "4 mailboxes live, each from its side", func() bool {
		for i := 1; i <= 4; i++ {
			m := "user" + itoa(i) + "@example.com"
			st, err := a.Engine().Status(m)
			want := "exchange:"
			if cloud[m] {
				want = "exchange_online:"
			}
			if err != nil || st.State != engine.StateLive || !strings.HasPrefix(st.Group, want) {
				return false
			}
		}
		return true
	})
	// EWS mailboxes stream (the hybrid instance keeps exchange's mode),
	// cloud ones are polled; the API says where each lives.
	for i := 1; i <= 4; i++ {
		m := "user" + itoa(i) + "@example.com"
		st, err := c.SyncStatus(context.Background(), m)
		want := "exchange"
		if cloud[m] {
			want = "exchange_online"
		}
		if err != nil || st.HostedOn != want {
			t.Errorf("GET sync of %s: hosted_on %q (err %v), want %q", m, st.HostedOn, err, want)
		}
	}
	if st, _ := a.Engine().Status("user1@example.com"); st.Connection == "pull" {
		t.Errorf("user1's connection = %q, want a streaming connection", st.Connection)
	}
}
