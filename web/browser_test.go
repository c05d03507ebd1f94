package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/cdp"
	"github.com/calsync/calsync/internal/testenv"
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
	hub      *api.Hub
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
	hub, err := api.NewHub(api.HubOptions{Registerer: d.reg})
	if err != nil {
		t.Fatal(err)
	}
	d.hub = hub
	overrides := &apitest.Overrides{P: d.presence, Hub: hub, Now: time.Now}
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

// waitJS evaluates expr until it returns want, failing after 30 seconds.
func waitJS(ctx context.Context, t *testing.T, page *cdp.Page, what, expr, want string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if got, err := page.WaitFor(wctx, expr, want, 50*time.Millisecond); err != nil {
		t.Fatalf("waiting for %s: got %q, want %q: %v\nconsole: %s", what, got, want, err, strings.Join(page.Console(), "\n"))
	}
}

func mustJS(ctx context.Context, t *testing.T, page *cdp.Page, expr string) {
	t.Helper()
	if err := page.Evaluate(ctx, expr, nil); err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
}

// rowText summarises a user's row as "availability|status text".
func rowText(user string) string {
	return fmt.Sprintf(`(() => { const r = document.querySelector('tr[data-user="%s"]');
		return r ? r.querySelector('.avail').textContent + '|' + r.querySelector('.status-text').textContent : 'no row'; })()`, user)
}

// openDashboard starts Chromium, loads the dashboard at url and signs in
// with the test token, checking that a wrong token is refused first.
func openDashboard(t *testing.T, url string) (context.Context, *cdp.Page) {
	t.Helper()
	chromium := testenv.LookPath(t, "chromium", "apt-get install -y chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	browser, err := cdp.Launch(ctx, chromium, t.TempDir())
	if err != nil {
		t.Fatalf("launching chromium: %v", err)
	}
	t.Cleanup(func() { browser.Close() })
	page, err := browser.NewPage(ctx)
	if err != nil {
		t.Fatalf("opening a page: %v", err)
	}
	t.Cleanup(func() { page.Close() })
	if err := page.SetViewport(ctx, 1440, 900); err != nil {
		t.Fatal(err)
	}
	if err := page.Navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	// Without a token the dashboard asks for one.
	waitJS(ctx, t, page, "the login form", `String(!document.getElementById('login').hidden)`, "true")
	mustJS(ctx, t, page, `document.getElementById('token-input').value = 'wrong'; document.getElementById('login-form').requestSubmit()`)
	waitJS(ctx, t, page, "the rejection message", `document.getElementById('login-error').textContent`, "The token was not accepted.")
	mustJS(ctx, t, page, `document.getElementById('token-input').value = '`+browserToken+`'; document.getElementById('login-form').requestSubmit()`)
	return ctx, page
}

func TestDashboardShowsPresenceChangesLive(t *testing.T) {
	d := newDashboardServer(t)
	ctx, page := openDashboard(t, d.srv.URL+"/")

	// The first page of 10,001 users, sorted, with counts and sync health.
	waitJS(ctx, t, page, "alice's row", rowText("alice@example.com"), "Available|")
	waitJS(ctx, t, page, "the page size", `String(document.querySelectorAll('#rows tr').length)`, "100")
	waitJS(ctx, t, page, "the pager", `document.getElementById('range').textContent.replace(/[^0-9–of ]/g, '')`, "1–100 of 10001")
	waitJS(ctx, t, page, "alice's sync health", `document.querySelector('tr[data-user="alice@example.com"] .sync').textContent`, "✕ backoff (ErrorServerBusy)")
	waitJS(ctx, t, page, "the live stream", `document.getElementById('live').textContent`, "live")
	deadline := time.Now().Add(30 * time.Second)
	for d.hub.Clients() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard did not subscribe to the event stream")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A calendar change: a meeting that started five minutes ago appears in
	// alice's calendar. Presence is evaluated with the default rules, as the
	// scheduler does, and the change is published; it must appear without
	// a reload.
	mustJS(ctx, t, page, `window.__marker = 'same page'`)
	now := time.Now().UTC()
	meeting := calendar.Occurrence{ItemID: "a3", Subject: "Budget review", Start: now.Add(-5 * time.Minute), End: now.Add(55 * time.Minute),
		FreeBusy: calendar.Busy, Sensitivity: calendar.Normal, Response: calendar.ResponseAccept, IsMeeting: true, Kind: calendar.KindSingle}
	d.agenda.Add("alice@example.com", meeting)
	rules, err := presence.CompileRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	occs, _ := d.agenda.Occurrences(ctx, "alice@example.com", now.Add(-24*time.Hour), now.Add(24*time.Hour))
	evaluated := presence.Evaluate(presence.Input{User: "alice@example.com", Occurrences: occs, Trusted: true,
		Window: calendar.Window{Start: now.Add(-24 * time.Hour), End: now.Add(24 * time.Hour)}}, rules, now)
	if evaluated.Availability != presence.Busy || !strings.HasPrefix(evaluated.StatusText, "In a meeting until ") {
		t.Fatalf("evaluated presence = %+v, want busy in a meeting", evaluated)
	}
	change := d.presence.Set(evaluated, now)
	if err := d.hub.PublishPresence(ctx, change); err != nil {
		t.Fatal(err)
	}
	meetingRow := "Busy|" + evaluated.StatusText
	waitJS(ctx, t, page, "the live presence change", rowText("alice@example.com"), meetingRow)
	waitJS(ctx, t, page, "the why column", `document.querySelector('tr[data-user="alice@example.com"] .why').textContent`,
		"Calendar · rule “"+evaluated.Why.Rule+"” · Budget review")
	waitJS(ctx, t, page, "the busy counter", `document.querySelector('.chip[data-availability="busy"] .n').textContent`, "1")
	waitJS(ctx, t, page, "no reload", `String(window.__marker)`, "same page")

	// The day timeline of a user, with privacy applied.
	mustJS(ctx, t, page, `document.querySelector('tr[data-user="alice@example.com"]').click()`)
	waitJS(ctx, t, page, "the timeline blocks", `String(document.querySelectorAll('#timeline .block').length)`, "3")
	waitJS(ctx, t, page, "the presence strip", `Array.from(document.querySelectorAll('#timeline .pblock')).map(b => b.className.split(' ')[1]).join(',')`,
		"available,busy,available,out_of_office,available")
	waitJS(ctx, t, page, "the masked private item", `String(document.getElementById('agenda').textContent.includes('Private appointment') && !document.getElementById('detail').textContent.includes('Doctor'))`, "true")
	waitJS(ctx, t, page, "the detail presence", `document.querySelector('#detail-presence .badge').textContent`, "Busy")
	screenshot(ctx, t, page, "detail")

	screenshot(ctx, t, page, "users")

	// A manual override from the detail panel, then cleared.
	mustJS(ctx, t, page, `document.getElementById('ov-availability').value = 'out_of_office';
		document.getElementById('ov-text').value = 'Back tomorrow';
		document.getElementById('ov-until').value = '60';
		document.getElementById('override-form').requestSubmit()`)
	waitJS(ctx, t, page, "the override confirmation", `document.getElementById('ov-msg').textContent`, "Override set.")
	waitJS(ctx, t, page, "the override in the list", rowText("alice@example.com"), "Out of office|Back tomorrow")
	mustJS(ctx, t, page, `document.getElementById('ov-clear').click()`)
	waitJS(ctx, t, page, "the cleared override", rowText("alice@example.com"), meetingRow)

	// Search narrows the list on the server side.
	mustJS(ctx, t, page, `const s = document.getElementById('search'); s.value = 'user-04242'; s.dispatchEvent(new Event('input'))`)
	waitJS(ctx, t, page, "the search result", `Array.from(document.querySelectorAll('#rows tr')).map(r => r.dataset.user).join(',')`, "user-04242@example.com")

	// The sync tab lists connection groups and the mailbox with problems.
	mustJS(ctx, t, page, `document.querySelector('.tab[data-tab="sync"]').click()`)
	waitJS(ctx, t, page, "the group table", `String(document.querySelectorAll('#group-rows tr').length)`, "7")
	defer screenshot(ctx, t, page, "sync")
	waitJS(ctx, t, page, "the problem list", `document.querySelector('#problem-rows tr') ? document.querySelector('#problem-rows tr').dataset.user : ''`, "alice@example.com")

	for _, line := range page.Console() {
		if strings.HasPrefix(line, "exception") || strings.HasPrefix(line, "console.error") {
			t.Errorf("browser console: %s", line)
		}
	}
}

// screenshot saves a PNG of the page into $CALSYNC_SCREENSHOTS, when set,
// for looking at the dashboard during development.
func screenshot(ctx context.Context, t *testing.T, page *cdp.Page, name string) {
	t.Helper()
	dir := os.Getenv("CALSYNC_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := page.Screenshot(ctx)
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}

// TestDashboardSurvivesEventBurst publishes a change for each of 10,000
// users at once, as at the top of the hour. Typically the browser's queue
// overflows, the hub drops the connection and the browser resumes with
// Last-Event-ID from the ring buffer (the test logs the drop counter); in
// every case the page must end up exactly right.
func TestDashboardSurvivesEventBurst(t *testing.T) {
	d := newDashboardServer(t)
	ctx, page := openDashboard(t, d.srv.URL+"/")
	waitJS(ctx, t, page, "the first page", `String(document.querySelectorAll('#rows tr').length)`, "100")
	waitJS(ctx, t, page, "the live stream", `document.getElementById('live').textContent`, "live")
	deadline := time.Now().Add(30 * time.Second)
	for d.hub.Clients() == 0 {
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
		if err := d.hub.PublishPresence(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	waitJS(ctx, t, page, "every visible row busy", `String(Array.from(document.querySelectorAll('#rows tr .avail')).filter(c => c.textContent === 'Busy').length)`, "99")
	waitJS(ctx, t, page, "the busy counter", `document.querySelector('.chip[data-availability="busy"] .n').textContent.replace(/[^0-9]/g, '')`, "10000")
	waitJS(ctx, t, page, "the available counter", `document.querySelector('.chip[data-availability="available"] .n').textContent.replace(/[^0-9]/g, '')`, "1")
	if mfs, err := d.reg.Gather(); err == nil {
		for _, mf := range mfs {
			if n := mf.GetName(); n == "calsync_sse_clients_dropped_total" || n == "calsync_sse_resets_total" {
				t.Logf("%s = %v", n, mf.GetMetric()[0].GetCounter().GetValue())
			}
		}
	}
	for _, line := range page.Console() {
		if strings.HasPrefix(line, "exception") || strings.HasPrefix(line, "console.error") {
			t.Errorf("browser console: %s", line)
		}
	}
}
