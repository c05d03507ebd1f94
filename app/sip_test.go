package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/kamailiotest"
	"github.com/calsync/calsync/connectors/sip/sipwatch"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/testenv"
)

// A meeting in Exchange reaches a SIP watcher of the user through the event
// log and the SIP connector, and /api/v1/connectors reports the connector.
func TestMeetingReachesSIPWatcher(t *testing.T) {
	srv, w := startKamailioAndWatcher(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	entity := "sip:user2@" + srv.Domain
	if err := w.Subscribe(ctx, entity, 3600); err != nil {
		t.Fatal(err)
	}
	sim, _, a := startAppWithConfig(t, config.Streaming, 2, func(s *appSetup) {
		s.cfg.Connectors.SIP = &config.SIPConnector{Server: "sip:" + srv.Addr, Domain: srv.Domain, Username: srv.Publisher,
			Password: config.NewSecret(srv.Password, "test"), Presentity: config.DefaultSIPPresentity,
			Expires: time.Hour, Concurrency: 8}
	})
	if _, err := w.Wait(ctx, entity, func(n sipwatch.Notify) bool {
		return n.Doc != nil && n.Doc.Basic == "open" && len(n.Doc.Activities) == 0
	}); err != nil {
		t.Fatalf("user2 available at the watcher: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := sim.AddCalendarItem("user2@example.com", ews.CalendarItem{Subject: "Design review", Start: now.Add(-time.Minute),
		End: now.Add(30 * time.Minute), LegacyFreeBusyStatus: ews.FreeBusyBusy, IsMeeting: true}); err != nil {
		t.Fatal(err)
	}
	n, err := w.Wait(ctx, entity, func(n sipwatch.Notify) bool { return n.Doc != nil && slices.Contains(n.Doc.Activities, "meeting") })
	if err != nil {
		t.Fatalf("user2 in a meeting at the watcher: %v", err)
	}
	if n.Doc.Note == "" || !slices.Equal(n.Doc.Activities, []string{"busy", "meeting"}) {
		t.Errorf("watcher got %+v", *n.Doc)
	}
	testenv.WaitFor(t, "the connector's status in the API", func() bool {
		res, err := http.Get(a.URL() + "api/v1/connectors")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var l struct {
			Connectors []struct {
				Name      string `json:"name"`
				Connected bool   `json:"connected"`
				Live      int    `json:"publications_live"`
			} `json:"connectors"`
		}
		return json.NewDecoder(res.Body).Decode(&l) == nil && len(l.Connectors) == 1 &&
			l.Connectors[0].Name == "sip" && l.Connectors[0].Connected && l.Connectors[0].Live == 2
	})
}

// A SIP address from the users source (here a CSV column; in AD an
// attribute such as msRTCSIP-PrimaryUserAddress) is the user's presentity;
// users without one get the template's.
func TestSIPAddressFromTheUsersSource(t *testing.T) {
	srv, w := startKamailioAndWatcher(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fromSource, fromTemplate := "sip:pat.jones@"+srv.Domain, "sip:user2@"+srv.Domain
	for _, entity := range []string{fromSource, fromTemplate} {
		if err := w.Subscribe(ctx, entity, 3600); err != nil {
			t.Fatal(err)
		}
	}
	csv := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(csv, []byte("mail,sip address\nuser1@example.com,pat.jones@"+srv.Domain+"\nuser2@example.com,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, _, _ := startAppWithConfig(t, config.Streaming, 2, func(s *appSetup) {
		s.cfg.Users.Static, s.cfg.Users.CSVFile = nil, csv
		s.cfg.Connectors.SIP = &config.SIPConnector{Server: "sip:" + srv.Addr, Domain: srv.Domain, Username: srv.Publisher,
			Password: config.NewSecret(srv.Password, "test"), Presentity: config.DefaultSIPPresentity,
			Expires: time.Hour, Concurrency: 8}
	})
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := sim.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "Design review", Start: now.Add(-time.Minute),
		End: now.Add(30 * time.Minute), LegacyFreeBusyStatus: ews.FreeBusyBusy, IsMeeting: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Wait(ctx, fromSource, func(n sipwatch.Notify) bool { return n.Doc != nil && slices.Contains(n.Doc.Activities, "meeting") }); err != nil {
		t.Fatalf("user1 in a meeting at its SIP address from the users source: %v", err)
	}
	if _, err := w.Wait(ctx, fromTemplate, func(n sipwatch.Notify) bool { return n.Doc != nil && n.Doc.Basic == "open" }); err != nil {
		t.Fatalf("user2 at the template's presentity: %v", err)
	}
	pubs, err := srv.Publications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pubs["user1@"+srv.Domain] != 0 || pubs["pat.jones@"+srv.Domain] != 1 {
		t.Errorf("publications = %v; want one at user1's address from the users source, none at its template presentity", pubs)
	}
}

// startKamailioAndWatcher starts a throwaway Kamailio and a SIP watcher of it.
func startKamailioAndWatcher(t *testing.T) (*kamailio.Server, *sipwatch.Watcher) {
	t.Helper()
	srv := kamailiotest.New(t, kamailio.Options{})
	w, err := sipwatch.New(srv.Addr, srv.Domain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return srv, w
}
