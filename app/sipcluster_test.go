package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/connectors/sip"
	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/kamailiotest"
	"github.com/calsync/calsync/connectors/sip/sipwatch"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

// Three instances on PostgreSQL publish to one Kamailio: each user has
// exactly one publication, from the instance that owns the mailbox; when
// an instance stops, when one crashes and when one joins, the new owner
// continues the user's publication (SIP-If-Match with the tag the previous owner stored)
// and a watcher sees the new presence in a document with one tuple, while
// the server still keeps one publication per user.
func TestSIPClusterOnePublicationPerUser(t *testing.T) {
	const n = 9
	srv, w := startKamailioAndWatcher(t)
	dbURL := pgtest.Database(t)
	sim, simURL, users := startSimOrg(t, n, 3, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, u := range users {
		if err := w.Subscribe(ctx, presentity(srv, u), 3600); err != nil {
			t.Fatal(err)
		}
	}
	withSIP := func(cfg *config.Config) {
		cfg.Connectors.SIP = &config.SIPConnector{Server: "sip:" + srv.Addr, Domain: srv.Domain, Username: srv.Publisher,
			Password: config.NewSecret(srv.Password, "test"), Presentity: config.DefaultSIPPresentity,
			Expires: time.Hour, Concurrency: 8}
	}
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var running []*instance
	for _, id := range []string{"calsync-a", "calsync-b", "calsync-c"} {
		running = append(running, startInstance(t, id, dbURL, simURL, sim, users, "", withSIP))
	}
	settled := func(what string) {
		t.Helper()
		testenv.WaitForWithin(t, 2*time.Minute, what, func() bool {
			owned, live, published := 0, 0, 0
			for _, in := range running {
				owned += len(in.app.Owned())
				live += in.live()
				st, ok := sipStatus(in)
				if !ok || st.Users != len(in.app.Owned()) {
					return false // each publishes exactly the users it owns
				}
				published += st.Users
			}
			return owned == n && live == n && published == n
		})
		onePublicationEach(ctx, t, srv, users)
	}
	// meetingShows puts user in a meeting and waits for the watcher to
	// see it in a document with one tuple (no parallel publication).
	meetingShows := func(user, when string) {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Second)
		if _, err := sim.AddCalendarItem(user, ews.CalendarItem{Subject: "Review " + when, Start: now.Add(-time.Minute), End: now.Add(time.Hour),
			LegacyFreeBusyStatus: ews.FreeBusyBusy, IsMeeting: true}); err != nil {
			t.Fatal(err)
		}
		got, err := w.Wait(ctx, presentity(srv, user), func(n sipwatch.Notify) bool {
			return n.Doc != nil && slices.Contains(n.Doc.Activities, "meeting")
		})
		if err != nil {
			t.Fatalf("%s in a meeting at the watcher %s: %v", user, when, err)
		}
		if got.Doc.Tuples != 1 {
			t.Errorf("%s the watcher got %d tuples for %s (parallel publications): %s", when, got.Doc.Tuples, user, got.Body)
		}
		onePublicationEach(ctx, t, srv, users)
	}
	settled("every mailbox live on three instances, each publishing the users it owns")
	for _, u := range users {
		if _, err := w.Wait(ctx, presentity(srv, u), func(n sipwatch.Notify) bool { return n.Doc != nil }); err != nil {
			t.Fatalf("%s at the watcher: %v", u, err)
		}
	}

	// A stopped instance hands its users over; a crashed one (database
	// connections gone, nothing saved or released) loses them after the
	// lease TTL. Either way the new owner continues their publications.
	for _, step := range []struct {
		how  string
		stop func(*instance)
	}{{"stopped", (*instance).stop}, {"crashed", (*instance).crash}} {
		victim := running[0]
		moved := victim.app.Owned()
		if len(moved) == 0 {
			victim = running[1]
			moved = victim.app.Owned()
		}
		running = slices.DeleteFunc(running, func(in *instance) bool { return in == victim })
		// What a crash leaves the next owner: the tags of the publications
		// the server keeps, in the shared store. (A crash within a moment
		// of a PUBLISH's answer loses its new tag: docs/operations.md §7.)
		testenv.WaitFor(t, "every publication's entity tag in the shared store", func() bool {
			return tagsSaved(ctx, t, srv, st, users)
		})
		notified := map[string]int{}
		for _, u := range moved {
			notified[u] = len(w.Notifies(presentity(srv, u)))
		}
		step.stop(victim)
		settled(fmt.Sprintf("every mailbox live and published by the %d survivors after %s %s", len(running), victim.id, step.how))
		// The new owners publish the users they took over at once (a
		// modification the server NOTIFYs), before any change of theirs.
		for _, u := range moved {
			testenv.WaitFor(t, u+" published by its new owner", func() bool {
				l := w.Notifies(presentity(srv, u))
				return len(l) > notified[u] && l[len(l)-1].Doc != nil && l[len(l)-1].Doc.Tuples == 1
			})
		}
		meetingShows(moved[0], "after "+victim.id+" "+step.how)
	}

	// A new instance joins: the survivor hands it a share (a rebalance,
	// the previous owner alive), and it continues those publications.
	joined := startInstance(t, "calsync-d", dbURL, simURL, sim, users, "", withSIP)
	running = append(running, joined)
	testenv.WaitForWithin(t, 2*time.Minute, "calsync-d to take a share", func() bool { return len(joined.app.Owned()) > 0 })
	settled("every mailbox live and published by the two instances after calsync-d joined")
	meetingShows(joined.app.Owned()[0], "on calsync-d after it joined")
}

// onePublicationEach fails unless the server keeps exactly one
// publication for each user.
func onePublicationEach(ctx context.Context, t *testing.T, srv *kamailio.Server, users []string) {
	t.Helper()
	pubs, err := srv.Publications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if got := pubs[strings.TrimPrefix(presentity(srv, u), "sip:")]; got != 1 {
			t.Errorf("%s has %d publications at the server, want 1 (all: %v)", u, got, pubs)
		}
	}
	if len(pubs) != len(users) {
		t.Errorf("the server keeps publications for %d presentities, want %d: %v", len(pubs), len(users), pubs)
	}
}

// tagsSaved reports whether the shared store keeps, for each user, the
// entity tag of the one publication the server keeps.
func tagsSaved(ctx context.Context, t *testing.T, srv *kamailio.Server, st *pgstore.Store, users []string) bool {
	t.Helper()
	stored, err := sip.StoredTags(ctx, st, "sip")
	if err != nil {
		t.Fatal(err)
	}
	var presentities []string
	for _, u := range users {
		presentities = append(presentities, presentity(srv, u))
	}
	return kamailiotest.TagsSaved(ctx, t, srv, stored, presentities)
}

// presentity is a user's presentity under the default template.
func presentity(srv *kamailio.Server, user string) string {
	local, _, _ := strings.Cut(user, "@")
	return "sip:" + local + "@" + srv.Domain
}

// sipStatus is the SIP connector's status as an instance's API reports it.
func sipStatus(in *instance) (st struct {
	Users int `json:"users"`
}, ok bool) {
	res, err := http.Get(in.app.URL() + "api/v1/connectors")
	if err != nil {
		return st, false
	}
	defer res.Body.Close()
	var l struct {
		Connectors []json.RawMessage `json:"connectors"`
	}
	if json.NewDecoder(res.Body).Decode(&l) != nil || len(l.Connectors) != 1 {
		return st, false
	}
	return st, json.Unmarshal(l.Connectors[0], &st) == nil
}
