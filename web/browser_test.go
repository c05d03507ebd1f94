package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/web"
)

const browserToken = "browser-test-token"

// dashboardServer serves the API and the dashboard over fake sources with
// 10,000 users.
type dashboardServer struct {
	srv      *httptest.Server
	presence *apitest.Presence
	agenda   *apitest.Agenda
	hub      *events.Log
	reg      *prometheus.Registry
}

func newDashboardServer(t *testing.T) *dashboardServer {
	t.Helper()
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var ps []presence.Presence
	var sts []store.MailboxStatus
	for i := range 10000 {
		user := fmt.Sprintf("user-%05d@example.com", i)
		ps = append(ps, presence.Presence{User: user, Availability: presence.Available, Why: presence.Reason{Source: "free"}, ComputedAt: now})
		sts = append(sts, store.MailboxStatus{SMTP: user, State: "subscribed", Group: fmt.Sprintf("mbx%02d.example.com", i%7), Connection: fmt.Sprintf("stream-%d-%02d", i%7, i/(7*200))})
	}
	ps = append(ps, presence.Presence{User: "alice@example.com", Availability: presence.Available, Why: presence.Reason{Source: "free"}, ComputedAt: now})
	sts = append(sts, store.MailboxStatus{SMTP: "alice@example.com", State: "backoff", Group: "mbx01.example.com", ConsecutiveFailures: 2,
		LastError: &store.SyncError{Code: "ErrorServerBusy", Message: "The server cannot service this request right now.", Hint: "calsync backs off and retries", At: now}})
	agenda := apitest.NewAgenda()
	d := &dashboardServer{presence: apitest.NewPresence(ps...), agenda: agenda}
	agenda.Add("alice@example.com",
		calendar.Occurrence{ItemID: "a1", Subject: "Standup", Location: "Room 1", Start: day.Add(9 * time.Hour), End: day.Add(9*time.Hour + 30*time.Minute), FreeBusy: calendar.Busy, Sensitivity: calendar.Normal},
		calendar.Occurrence{ItemID: "a2", Subject: "Doctor", Location: "Clinic", Start: day.Add(14 * time.Hour), End: day.Add(15 * time.Hour), FreeBusy: calendar.OutOfOffice, Sensitivity: calendar.Private},
	)
	d.reg = prometheus.NewRegistry()
	hub, err := events.NewLog(events.Options{Registerer: d.reg})
	if err != nil {
		t.Fatal(err)
	}
	d.hub = hub
	overrides := &apitest.Overrides{P: d.presence, Events: hub, Now: time.Now}
	dryRun := &apitest.DryRun{Timeline: []presence.Presence{
		{User: "alice@example.com", Availability: presence.Available, Since: day, Until: day.Add(9 * time.Hour)},
		{User: "alice@example.com", Availability: presence.Busy, Since: day.Add(9 * time.Hour), Until: day.Add(9*time.Hour + 30*time.Minute), StatusText: "In a meeting"},
		{User: "alice@example.com", Availability: presence.Available, Since: day.Add(9*time.Hour + 30*time.Minute), Until: day.Add(14 * time.Hour)},
		{User: "alice@example.com", Availability: presence.OutOfOffice, Since: day.Add(14 * time.Hour), Until: day.Add(15 * time.Hour)},
		{User: "alice@example.com", Availability: presence.Available, Since: day.Add(15 * time.Hour)},
	}}
	h, err := api.New(api.Options{
		Presence: d.presence, Sync: apitest.NewSync(sts...), Agenda: agenda, Events: hub, Overrides: overrides, DryRun: dryRun,
		Tokens: []string{browserToken}, Dashboard: web.Handler(),
	})
	if err != nil {
		t.Fatal(err)
	}
	d.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		hub.Close()
		d.srv.Close()
	})
	return d
}

// rowText summarises a user's row as "availability|status text".
func rowText(user string) string {
	return fmt.Sprintf(`(() => { const r = document.querySelector('tr[data-user="%s"]');
		return r ? r.querySelector('.avail').textContent + '|' + r.querySelector('.status-text').textContent : 'no row'; })()`, user)
}

// openDashboard starts Chromium at 1440×900, loads the dashboard at url and
// signs in with the test token, checking that a wrong token is refused first.
func openDashboard(t *testing.T, url string) *browserPage {
	t.Helper()
	return signIn(t, newBrowserPage(t, 1440, 900), url)
}

// signIn loads the dashboard at url in page, checks that a wrong token is
// refused and signs in with the test token.
func signIn(t *testing.T, page *browserPage, url string) *browserPage {
	t.Helper()
	page.navigate(url)
	// Without a token the dashboard asks for one.
	page.waitJS("the login form", `String(!document.getElementById('login').hidden)`, "true")
	page.mustJS(`document.getElementById('token-input').value = 'wrong'; document.getElementById('login-form').requestSubmit()`)
	page.waitJS("the rejection message", `document.getElementById('login-error').textContent`, "The token was not accepted.")
	page.mustJS(`document.getElementById('token-input').value = '` + browserToken + `'; document.getElementById('login-form').requestSubmit()`)
	return page
}

func TestDashboardShowsPresenceChangesLive(t *testing.T) {
	d := newDashboardServer(t)
	page := openDashboard(t, d.srv.URL+"/")

	// The first page of 10,001 users, sorted, with counts and sync health.
	page.waitJS("alice's row", rowText("alice@example.com"), "Available|")
	page.waitJS("the page size", `String(document.querySelectorAll('#rows tr').length)`, "100")
	page.waitJS("the pager", `document.getElementById('range').textContent.replace(/[^0-9–of ]/g, '')`, "1–100 of 10001")
	page.waitJS("alice's sync health", `document.querySelector('tr[data-user="alice@example.com"] .sync').textContent`, "✕ backoff (ErrorServerBusy)")
	page.waitJS("the live stream", `document.getElementById('live').textContent`, "live")
	deadline := time.Now().Add(30 * time.Second)
	for d.hub.Subscribers() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard did not subscribe to the event stream")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A calendar change: a meeting that started five minutes ago appears in
	// alice's calendar. Presence is evaluated with the default rules, as the
	// scheduler does, and the change is published; it must appear without
	// a reload.
	page.mustJS(`window.__marker = 'same page'`)
	now := time.Now().UTC()
	meeting := calendar.Occurrence{ItemID: "a3", Subject: "Budget review", Start: now.Add(-5 * time.Minute), End: now.Add(55 * time.Minute),
		FreeBusy: calendar.Busy, Sensitivity: calendar.Normal, Response: calendar.ResponseAccept, IsMeeting: true, Kind: calendar.KindSingle}
	d.agenda.Add("alice@example.com", meeting)
	rules, err := presence.CompileRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	occs, _ := d.agenda.Occurrences(context.Background(), "alice@example.com", now.Add(-24*time.Hour), now.Add(24*time.Hour))
	evaluated := presence.Evaluate(presence.Input{User: "alice@example.com", Occurrences: occs, Trusted: true,
		Window: calendar.Window{Start: now.Add(-24 * time.Hour), End: now.Add(24 * time.Hour)}}, rules, now)
	if evaluated.Availability != presence.Busy || !strings.HasPrefix(evaluated.StatusText, "In a meeting until ") {
		t.Fatalf("evaluated presence = %+v, want busy in a meeting", evaluated)
	}
	change := d.presence.Set(evaluated, now)
	if err := (api.PresencePublisher{Events: d.hub}).Publish(context.Background(), change); err != nil {
		t.Fatal(err)
	}
	meetingRow := "Busy|" + evaluated.StatusText
	page.waitJS("the live presence change", rowText("alice@example.com"), meetingRow)
	page.waitJS("the why column", `document.querySelector('tr[data-user="alice@example.com"] .why').textContent`,
		"Calendar · rule “"+evaluated.Why.Rule+"” · Budget review")
	page.waitJS("the busy counter", `document.querySelector('.chip[data-availability="busy"] .n').textContent`, "1")
	page.waitJS("no reload", `String(window.__marker)`, "same page")

	// The day timeline of a user, with privacy applied.
	page.mustJS(`document.querySelector('tr[data-user="alice@example.com"]').click()`)
	page.waitJS("the timeline blocks", `String(document.querySelectorAll('#timeline .block').length)`, "3")
	page.waitJS("the presence strip", `Array.from(document.querySelectorAll('#timeline .pblock')).map(b => b.className.split(' ')[1]).join(',')`,
		"available,busy,available,out_of_office,available")
	page.waitJS("the masked private item", `String(document.getElementById('agenda').textContent.includes('Private appointment') && !document.getElementById('detail').textContent.includes('Doctor'))`, "true")
	page.waitJS("the detail presence", `document.querySelector('#detail-presence .badge').textContent`, "Busy")
	page.screenshot("detail")

	page.screenshot("users")

	// A manual override from the detail panel, then cleared.
	page.mustJS(`document.getElementById('ov-availability').value = 'out_of_office';
		document.getElementById('ov-text').value = 'Back tomorrow';
		document.getElementById('ov-until').value = '60';
		document.getElementById('override-form').requestSubmit()`)
	page.waitJS("the override confirmation", `document.getElementById('ov-msg').textContent`, "Override set.")
	page.waitJS("the override in the list", rowText("alice@example.com"), "Out of office|Back tomorrow")
	page.mustJS(`document.getElementById('ov-clear').click()`)
	page.waitJS("the cleared override", rowText("alice@example.com"), meetingRow)

	// Search narrows the list on the server side.
	page.mustJS(`const s = document.getElementById('search'); s.value = 'user-04242'; s.dispatchEvent(new Event('input'))`)
	page.waitJS("the search result", `Array.from(document.querySelectorAll('#rows tr')).map(r => r.dataset.user).join(',')`, "user-04242@example.com")

	// The sync tab lists connection groups and the mailbox with problems.
	page.mustJS(`document.querySelector('.tab[data-tab="sync"]').click()`)
	page.waitJS("the group table", `String(document.querySelectorAll('#group-rows tr').length)`, "7")
	defer page.screenshot("sync")
	page.waitJS("the problem list", `document.querySelector('#problem-rows tr') ? document.querySelector('#problem-rows tr').dataset.user : ''`, "alice@example.com")

	page.checkConsole()
}

// TestDashboardSurvivesEventBurst publishes a change for each of 10,000
// users at once, as at the top of the hour. Typically the browser's queue
// overflows, the hub drops the connection and the browser resumes with
// Last-Event-ID from the ring buffer (the test logs the drop counter); in
// every case the page must end up exactly right.
func TestDashboardSurvivesEventBurst(t *testing.T) {
	d := newDashboardServer(t)
	page := openDashboard(t, d.srv.URL+"/")
	page.waitJS("the first page", `String(document.querySelectorAll('#rows tr').length)`, "100")
	page.waitJS("the live stream", `document.getElementById('live').textContent`, "live")
	deadline := time.Now().Add(30 * time.Second)
	for d.hub.Subscribers() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard did not subscribe to the event stream")
		}
		time.Sleep(20 * time.Millisecond)
	}
	now := time.Now()
	for i := range 10000 {
		user := fmt.Sprintf("user-%05d@example.com", i)
		c := d.presence.Set(presence.Presence{User: user, Availability: presence.Busy, StatusText: "In a meeting until 10:00",
			Why: presence.Reason{Source: "calendar", Rule: "meeting"}, ComputedAt: now}, now)
		if err := (api.PresencePublisher{Events: d.hub}).Publish(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	page.waitJS("every visible row busy", `String(Array.from(document.querySelectorAll('#rows tr .avail')).filter(c => c.textContent === 'Busy').length)`, "99")
	page.waitJS("the busy counter", `document.querySelector('.chip[data-availability="busy"] .n').textContent.replace(/[^0-9]/g, '')`, "10000")
	page.waitJS("the available counter", `document.querySelector('.chip[data-availability="available"] .n').textContent.replace(/[^0-9]/g, '')`, "1")
	if mfs, err := d.reg.Gather(); err == nil {
		for _, mf := range mfs {
			if n := mf.GetName(); n == "calsync_sse_clients_dropped_total" || n == "calsync_sse_resets_total" {
				t.Logf("%s = %v", n, mf.GetMetric()[0].GetCounter().GetValue())
			}
		}
	}
	page.checkConsole()
}
