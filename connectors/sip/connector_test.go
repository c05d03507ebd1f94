package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/internal/testenv"
)

// Every availability reaches a real server's watcher as its documented
// PIDF, through one publication; unknown withdraws it.
func TestTransitionsReachWatcher(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "alice")
	c, _ := run(t, r.options())
	set := func(s connectors.State) { c.Runner().Set("alice@example.com", s) }

	set(busy("In a meeting until 15:00"))
	r.shows(t, "alice", "open", []string{"busy", "meeting"}, "In a meeting until 15:00")
	set(connectors.State{Availability: "tentative", StatusText: "Tentative: Review until 16:00"})
	r.shows(t, "alice", "open", []string{"appointment"}, "Tentative: Review until 16:00")
	set(connectors.State{Availability: "out_of_office", StatusText: "Out of office until 14 Dec"})
	r.shows(t, "alice", "open", []string{"vacation", "away"}, "Out of office until 14 Dec")
	set(connectors.State{Availability: "working_elsewhere", StatusText: "Working elsewhere"})
	r.shows(t, "alice", "open", []string{"other"}, "Working elsewhere")
	set(connectors.State{Availability: "busy", Profile: "dnd", StatusText: "Focus time"})
	r.shows(t, "alice", "open", []string{"busy"}, "Do not disturb")
	set(connectors.State{Availability: "available"})
	r.shows(t, "alice", "open", nil, "")
	r.publications(t, "alice", 1)

	set(connectors.State{Availability: "unknown"})
	r.shows(t, "alice", "", nil, "")
	r.publications(t, "alice", 0)
	testenv.WaitFor(t, "status without live publications", func() bool { return c.Status().Live == 0 })
}

// Refreshes before expiry continue the one publication with SIP-If-Match:
// a new tag each time, never a second publication.
func TestRefreshKeepsOnePublication(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "bob")
	opts := r.options()
	opts.Expires = 61 * time.Minute
	c, _ := run(t, opts)
	c.Runner().Set("bob@example.com", busy("Busy"))
	r.shows(t, "bob", "open", []string{"busy", "meeting"}, "Busy")
	first := recorded(t, c, "bob@example.com")
	if first.Granted != 3600 {
		t.Fatalf("granted %d s, want Kamailio's max_expires 3600 (61 min asked for)", first.Granted)
	}
	for i := range 2 {
		notifies := len(r.watch.Notifies(r.entity("bob")))
		before, _ := c.pubs.get("bob@example.com")
		r.clock.Set(before.refreshAt())
		// Kamailio NOTIFYs watchers on every refresh, with the same body.
		if _, err := r.waitN(t.Context(), "bob", notifies+1); err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		testenv.WaitFor(t, "the refreshed tag", func() bool {
			p, _ := c.pubs.get("bob@example.com")
			return p.ETag != before.ETag
		})
		r.shows(t, "bob", "open", []string{"busy", "meeting"}, "Busy")
	}
	r.publications(t, "bob", 1)
}

// After a server restart the publication is gone; the next refresh gets
// 412 and publishes anew, once.
func TestServerRestart(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "carol")
	c, _ := run(t, r.options())
	c.Runner().Set("carol@example.com", busy("Busy"))
	r.shows(t, "carol", "open", []string{"busy", "meeting"}, "Busy")
	if err := r.srv.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.subscribe(t, "carol")
	r.shows(t, "carol", "", nil, "")
	p := recorded(t, c, "carol@example.com")
	r.clock.Set(p.refreshAt())
	r.shows(t, "carol", "open", []string{"busy", "meeting"}, "Busy")
	r.publications(t, "carol", 1)
}

// While the server is down updates are held back (one probe per back-off);
// when it is back everyone's presence is published again.
func TestServerDownAndBack(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "dave", "erin")
	c, _ := run(t, r.options())
	c.Runner().Set("dave@example.com", busy("Busy"))
	r.shows(t, "dave", "open", []string{"busy", "meeting"}, "Busy")

	r.srv.Down()
	c.Runner().Set("erin@example.com", busy("Busy"))
	testenv.WaitFor(t, "the connector to notice the server is down", func() bool {
		st := c.Status()
		return st.Unavailable && st.InFlight == 0
	})
	if err := r.srv.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.subscribe(t, "dave", "erin")
	r.clock.Advance(time.Second) // the probe's back-off
	r.shows(t, "erin", "open", []string{"busy", "meeting"}, "Busy")
	r.shows(t, "dave", "open", []string{"busy", "meeting"}, "Busy")
	r.publications(t, "dave", 1)
	r.publications(t, "erin", 1)
	if st := c.Status(); !st.Connected || st.Unavailable {
		t.Fatalf("status after recovery %+v", st)
	}
}

// A calsync restart continues the stored publications: one tag chain per
// user, no parallel publication.
func TestConnectorRestartContinuesPublication(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "frank")
	c1, stop := run(t, r.options())
	c1.Runner().Set("frank@example.com", busy("Busy"))
	r.shows(t, "frank", "open", []string{"busy", "meeting"}, "Busy")
	stop()
	before, _ := c1.pubs.get("frank@example.com")

	opts := r.options()
	opts.Initial = func(context.Context) (map[string]connectors.State, error) {
		return map[string]connectors.State{"frank@example.com": busy("Busy")}, nil
	}
	notifies := len(r.watch.Notifies(r.entity("frank")))
	c2, _ := run(t, opts)
	testenv.WaitFor(t, "the stored publication refreshed", func() bool {
		p, ok := c2.pubs.get("frank@example.com")
		return ok && p.ETag != before.ETag
	})
	// Kamailio NOTIFYs a publication from the worker that took it; one a
	// moment later from another worker may overtake it (even in CSeq), so
	// the change waits for the refresh's NOTIFY.
	if _, err := r.waitN(t.Context(), "frank", notifies+1); err != nil {
		t.Fatal(err)
	}
	c2.Runner().Set("frank@example.com", connectors.State{Availability: "available"})
	r.shows(t, "frank", "open", nil, "")
	r.publications(t, "frank", 1)
}

// A user removed from the source gets a removing PUBLISH.
func TestUserRemoval(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "gina", "hank")
	c, _ := run(t, r.options())
	c.Runner().Set("gina@example.com", busy("Busy"))
	c.Runner().Set("hank@example.com", busy("Busy"))
	r.shows(t, "gina", "open", []string{"busy", "meeting"}, "Busy")
	r.shows(t, "hank", "open", []string{"busy", "meeting"}, "Busy")
	c.Runner().Retain([]string{"hank@example.com"})
	r.shows(t, "gina", "", nil, "")
	r.publications(t, "gina", 0)
	r.publications(t, "hank", 1)
	testenv.WaitFor(t, "gina's publication forgotten", func() bool {
		_, ok := c.pubs.get("gina@example.com")
		return !ok && c.Status().Live == 1
	})
}

// A wrong password is a clear error and no storm: the first updates fail,
// then one probe per back-off.
func TestWrongPassword(t *testing.T) {
	r := newRig(t)
	opts := r.options()
	opts.Password = "wrong"
	lastErr := r.storm(t, opts, 10)
	if !strings.Contains(lastErr, "rejected the publisher's credentials") || strings.Contains(lastErr, "wrong") {
		t.Fatalf("last error %q: want the credentials rejection, without the password", lastErr)
	}
}

// A tag the server cannot parse gets a 500 from Kamailio: the connector
// starts a fresh publication.
func TestServerErrorOnConditionalStartsAnew(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "ivy")
	c, _ := run(t, r.options())
	c.pubs.set("ivy@example.com", publication{Entity: r.entity("ivy"), ETag: "deadbeef", Hash: "x",
		Expires: r.clock.Now().Add(time.Hour), Granted: 3600})
	c.Runner().Set("ivy@example.com", busy("Busy"))
	r.shows(t, "ivy", "open", []string{"busy", "meeting"}, "Busy")
	r.publications(t, "ivy", 1)
	testenv.WaitFor(t, "a new tag", func() bool {
		p, _ := c.pubs.get("ivy@example.com")
		return p.ETag != "deadbeef"
	})
}

// recorded waits until the connector recorded a publication of user.
func recorded(t *testing.T, c *Connector, user string) publication {
	t.Helper()
	var p publication
	testenv.WaitFor(t, "the publication of "+user+" recorded", func() bool {
		var ok bool
		p, ok = c.pubs.get(user)
		return ok
	})
	return p
}

// Check publishes and removes a test presence; a wrong password is said.
func TestCheck(t *testing.T) {
	r := newRig(t)
	opts := r.options()
	opts.Clock = nil
	res, err := Check(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Presentity != r.entity(CheckUser) || res.Granted != 60 {
		t.Fatalf("result %+v", res)
	}
	// Removed again. (A watcher is not asserted: Kamailio's NOTIFYs of a
	// publication and its removal a millisecond later may show either.)
	r.publications(t, CheckUser, 0)
	opts.Password = "wrong"
	if _, err := Check(t.Context(), opts); !IsCredentials(err) {
		t.Fatalf("wrong password: %v", err)
	}
}
