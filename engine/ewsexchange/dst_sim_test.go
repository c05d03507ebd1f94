package ewsexchange_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store/memstore"
)

// simWorld is a simulator over HTTP driven through its control API. For
// the DST test its clock is moved only through that API (POST
// /sim/v1/clock; its base clock is frozen), together with clk, the
// engine's injected clock.
type simWorld struct {
	t       *testing.T
	base    string
	control ewsclient.HTTPClient
	clk     *clock.Fake
}

// setNow moves the simulator's clock (through its control API) and the
// engine's to t together.
func (w *simWorld) setNow(t time.Time) {
	w.t.Helper()
	var got ewssim.ClockJSON
	w.do(http.MethodPost, "/sim/v1/clock", ewssim.ClockJSON{Now: t}, &got)
	if !got.Now.Equal(t) {
		w.t.Fatalf("simulator clock = %s after setting %s", got.Now, t)
	}
	w.clk.Set(t)
}

func (w *simWorld) do(method, path string, body, out any) {
	w.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		w.t.Fatal(err)
	}
	req, err := http.NewRequest(method, w.base+path, bytes.NewReader(b))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.control.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		w.t.Fatalf("%s %s: %s %s", method, path, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			w.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// serviceClient is an EWS client for the simulator served at base, as its
// service account, and the authenticated HTTP client under it (for the
// control API).
func serviceClient(t *testing.T, sim *ewssim.Simulator, base string) (*ewsclient.Client, ewsclient.HTTPClient) {
	t.Helper()
	hc, err := ewsclient.NewHTTPClient(&ewsclient.TransportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name, password, _ := sim.Password(sim.ServiceAccount())
	auth := ewsclient.BasicAuth(hc, name, password)
	c, err := ewsclient.New(base+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: auth})
	if err != nil {
		t.Fatal(err)
	}
	return c, auth
}

func utc(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
}

// A user in New York served by an instance whose default zone is
// Europe/Berlin (the default applies to mailboxes whose zone is not known:
// engine TestWindowFollowsTheMailboxZoneAcrossDST, app
// TestPresenceDefaultZone; in the simulator every mailbox has working
// hours, in UTC when no zone was set, so none is without a zone), across New York's change to daylight saving time (Sunday
// 8 March 2026, 02:00 EST → 03:00 EDT; Berlin changes only on 29 March, so
// the two are 6 hours apart before and 5 after). The simulator's clock
// (its control API) and the engine's injected clock move together. The
// first load learns the zone from the mailbox's working hours (one
// GetUserAvailability, no GetUserConfiguration; the reconciliation reads
// the regional settings, OWA.UserOptions, TestZoneChangeInTheSimulatorIsLearntAtReconciliation);
// status texts are on the user's clock ("until 15:00", not Berlin's 21:00
// or a stale EST 14:00), the all-day item on the 23-hour day covers exactly
// New York's day, the window rolls at New York's midnight (bringing in an
// item it did not cover before), and scheduled automatic replies switch on
// when the simulator's now enters them (found by the mail-tip poller).
func TestNewYorkUserAcrossDSTWithTheSimulatorsClock(t *testing.T) {
	satAfternoon := utc(time.March, 7, 19, 30) // Sat 14:30 EST, 20:30 in Berlin
	sim, err := ewssim.New(ewssim.Options{Start: satAfternoon, Basic: true,
		Options: ewsmem.Options{Mailboxes: 1, Servers: 1, Seed: 1, Clock: clock.NewFake(satAfternoon)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	c, auth := serviceClient(t, sim, srv.URL)
	clk := clock.NewFake(satAfternoon)
	w := &simWorld{t: t, base: srv.URL, control: auth, clk: clk}
	ny := users(sim)[0]

	// The New York user's regional settings and calendar, all set through
	// the control API.
	var zone ewssim.TimeZoneJSON
	w.do(http.MethodPut, "/sim/v1/mailboxes/"+ny+"/timezone", ewssim.TimeZoneJSON{TimeZone: "America/New_York"}, &zone)
	if zone.Windows != "Eastern Standard Time" {
		t.Fatalf("New York's Windows zone = %q", zone.Windows)
	}
	item := func(it ewssim.ItemJSON) {
		it.TimeZone = zone.Windows // the items API takes Windows ids only
		w.do(http.MethodPost, "/sim/v1/mailboxes/"+ny+"/items", it, nil)
	}
	item(ewssim.ItemJSON{Subject: "Saturday review", Start: utc(time.March, 7, 19, 0), End: utc(time.March, 7, 20, 0), FreeBusy: "Busy", IsMeeting: true})
	// Sunday 8 March in New York: 00:00 EST (05:00 UTC) to 00:00 EDT (04:00 UTC), 23 hours.
	item(ewssim.ItemJSON{Subject: "Offsite", Start: utc(time.March, 8, 5, 0), End: utc(time.March, 9, 4, 0), AllDay: true, FreeBusy: "OOF"})
	item(ewssim.ItemJSON{Subject: "Monday sync", Start: utc(time.March, 9, 18, 0), End: utc(time.March, 9, 19, 0), FreeBusy: "Busy", IsMeeting: true})
	// Beyond the first window's end (22 March, New York's midnight), inside it after the roll.
	item(ewssim.ItemJSON{Subject: "Late March", Start: utc(time.March, 23, 14, 0), End: utc(time.March, 23, 15, 0), FreeBusy: "Busy"})
	// Automatic replies scheduled for Tuesday 09:00–17:00 EDT.
	w.do(http.MethodPut, "/sim/v1/mailboxes/"+ny+"/oof", ewssim.OOFJSON{State: "Scheduled", ExternalAudience: "All",
		Start: utc(time.March, 10, 13, 0), End: utc(time.March, 10, 21, 0), InternalReply: "Training"}, nil)

	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	r := startEngine(t, ewsexchange.NewClient(c, srv.URL+"/autodiscover/autodiscover.svc"), st, engine.Pull, []string{ny}, func(o *engine.Options) {
		o.Clock = clk
		o.PullInterval = time.Hour
		o.DiscoverBatchDelay = -1
		o.OOFInterval = 0
		o.Budget.RequestsPerSecond = -1 // no pacing timers on the injected clock
		o.OOFPollInterval = time.Minute
		o.Window = engine.WindowConfig{DaysBefore: 1, DaysAfter: 14, DefaultTimeZone: berlin}
	})
	waitAllLive(t, r.e, 1, 30*time.Second)
	if req := sim.Stats().Requests; req["GetUserConfiguration"] != 0 || req["GetUserAvailabilityRequest"] != 1 {
		t.Errorf("first load: %d GetUserConfiguration, %d GetUserAvailability; want 0 and 1 (the zone from the working hours)",
			req["GetUserConfiguration"], req["GetUserAvailabilityRequest"])
	}

	rules, err := presence.CompileRuleSet(presence.RuleSet{Options: presence.Options{TimeZone: "Europe/Berlin"}})
	if err != nil {
		t.Fatal(err)
	}
	src := &presence.StoreSource{Store: st, DefaultZone: "Europe/Berlin"}
	presenceAt := func(at time.Time) string {
		t.Helper()
		in, err := src.Load(context.Background(), ny, at.AddDate(0, 0, -2), at.AddDate(0, 0, 2))
		if err != nil {
			t.Fatal(err)
		}
		p := presence.Evaluate(in, rules, at)
		return fmt.Sprintf("%s %q %s", p.Availability, p.StatusText, p.TimeZone)
	}
	wantPresence := func(what string, at time.Time, want string) {
		t.Helper()
		if got := presenceAt(at); got != want {
			t.Errorf("%s: presence = %s, want %s", what, got, want)
		}
	}
	window := func() calendar.Window {
		rec, err := st.Mailbox(context.Background(), ny)
		if err != nil {
			return calendar.Window{}
		}
		return rec.Checkpoint.Window
	}

	// Saturday, before the change.
	if s, _ := r.e.Status(ny); s.TimeZone != "America/New_York" {
		t.Fatalf("zone learnt for %s = %q, want America/New_York", ny, s.TimeZone)
	}
	// 6 March 00:00 EST = 05:00 UTC … 22 March 00:00 EDT = 04:00 UTC.
	if got, want := window(), (calendar.Window{Start: utc(time.March, 6, 5, 0), End: utc(time.March, 22, 4, 0)}); got != want {
		t.Fatalf("New York window = %v, want %v", got, want)
	}
	wantPresence("Saturday 14:30 EST", satAfternoon, `busy "In a meeting until 15:00" America/New_York`)

	// Sunday 23:30 EDT, the last half hour of New York's 23-hour Sunday:
	// the all-day item still holds (in Berlin it ended at 23:00 UTC).
	w.setNow(utc(time.March, 9, 3, 30))
	wantPresence("Sunday 23:30 EDT", utc(time.March, 9, 3, 30), `out_of_office "Out of office until Sun 8 Mar" America/New_York`)
	wantPresence("Monday 00:30 EDT", utc(time.March, 9, 4, 30), `available "" America/New_York`)

	// Monday 14:30 EDT: the window rolled at New York's midnight (04:00
	// UTC, no longer 05:00) and holds the late-March item; the meeting
	// ends at 15:00 on the user's clock.
	monday := utc(time.March, 9, 18, 30)
	w.setNow(monday)
	testenv.WaitFor(t, "the New York window to roll at its midnight", func() bool {
		return window() == calendar.Window{Start: utc(time.March, 8, 5, 0), End: utc(time.March, 24, 4, 0)}
	})
	testenv.WaitFor(t, "the late-March item read after the roll", func() bool {
		occs, err := st.Occurrences(context.Background(), ny, utc(time.March, 23, 0, 0), utc(time.March, 24, 0, 0))
		return err == nil && len(occs) == 1 && occs[0].Subject == "Late March"
	})
	wantPresence("Monday 14:30 EDT", monday, `busy "In a meeting until 15:00" America/New_York`)

	// Tuesday 10:00 EDT: the simulator's now is inside the scheduled
	// automatic replies, so its mail tip is on; the poller (on the
	// engine's clock) sees the change and the settings are read again.
	before := sim.Stats().Requests["GetUserOofSettingsRequest"]
	tuesday := utc(time.March, 10, 14, 0)
	w.setNow(tuesday)
	clk.Advance(time.Minute) // one polling round
	testenv.WaitFor(t, "GetUserOofSettings after the tip turned on", func() bool {
		return sim.Stats().Requests["GetUserOofSettingsRequest"] > before
	})
	// The settings are stored after the answer arrived: wait for them.
	const oof = `out_of_office "Out of office until 17:00" America/New_York`
	testenv.WaitFor(t, "Tuesday 10:00 EDT: presence "+oof, func() bool { return presenceAt(clk.Now()) == oof })
}

// A user who changes the zone of their regional settings (here through the
// simulator's control API) gets it at the next reconciliation: the status
// names it and the window follows its midnights.
func TestZoneChangeInTheSimulatorIsLearntAtReconciliation(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Basic: true, Options: ewsmem.Options{Mailboxes: 1, Servers: 1, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	c, auth := serviceClient(t, sim, srv.URL)
	w := &simWorld{t: t, base: srv.URL, control: auth}
	user := users(sim)[0]
	w.do(http.MethodPut, "/sim/v1/mailboxes/"+user+"/timezone", ewssim.TimeZoneJSON{TimeZone: "America/New_York"}, nil)
	st := memstore.New()
	r := startEngine(t, ewsexchange.NewClient(c, srv.URL+"/autodiscover/autodiscover.svc"), st, engine.Pull, []string{user}, func(o *engine.Options) {
		o.ReconcileInterval = 200 * time.Millisecond
	})
	waitAllLive(t, r.e, 1, 30*time.Second)
	zone := func() string { s, _ := r.e.Status(user); return s.TimeZone }
	if zone() != "America/New_York" {
		t.Fatalf("zone = %q, want America/New_York", zone())
	}
	w.do(http.MethodPut, "/sim/v1/mailboxes/"+user+"/timezone", ewssim.TimeZoneJSON{TimeZone: "Asia/Tokyo"}, nil)
	testenv.WaitFor(t, "Asia/Tokyo learnt at reconciliation", func() bool { return zone() == "Asia/Tokyo" })
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the window at Tokyo's midnights", func() bool {
		rec, err := st.Mailbox(context.Background(), user)
		if err != nil {
			return false
		}
		s := rec.Checkpoint.Window.Start.In(tokyo)
		return s.Hour() == 0 && s.Minute() == 0 && rec.Status.TimeZone == "Asia/Tokyo"
	})
}
