package web_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
)

const aliceLong = "alice.longname-department@example.com"

// TestDashboardLayout loads the dashboard in Chromium at the two common
// desktop sizes, each with another locale and time zone, and checks the
// layout by measuring element boxes: no horizontal scrolling, no column
// cut, no table cell taller than two lines, the detail panel beside the
// table without overlap, the agenda's times clear of the subjects, and
// every time in 24-hour form like the status texts, with the zone named. Screenshots
// go to $CALSYNC_SCREENSHOTS when set.
func TestDashboardLayout(t *testing.T) {
	for _, vp := range []struct {
		w, h         int
		locale, zone string
	}{
		{1280, 800, "en-US", "America/Los_Angeles"},
		{1400, 900, "en-GB", "UTC"},
		{1920, 1080, "de-DE", "Europe/Berlin"},
		// Narrow: the detail panel goes under the table. The zone is the
		// user in India's under its old name, which the page must see as
		// the same.
		{1024, 768, "en-US", "Asia/Calcutta"},
	} {
		name := fmt.Sprintf("%d×%d %s", vp.w, vp.h, vp.locale)
		t.Run(clean(name), func(t *testing.T) {
			loc, err := time.LoadLocation(vp.zone)
			if err != nil {
				t.Skipf("time zone database: %v", err)
			}
			s := newLayoutServer(t, loc)
			s.exchange.set(api.ExchangeHealth{State: "credentials_rejected", Since: time.Now().Add(-5 * time.Minute), NextAttempt: time.Now().Add(45 * time.Second),
				LastError: "Exchange rejected the service account's password (HTTP 401 from https://mail.example.com/EWS/Exchange.asmx)."})
			page := newBrowserPage(t, vp.w, vp.h)
			page.emulateLocale(vp.locale, vp.zone)
			shot := func(what string) { page.screenshot(clean(fmt.Sprintf("%s-%dx%d", what, vp.w, vp.h))) }

			// Before the first data the page says it is loading.
			release := s.holdUsers()
			signIn(t, page, s.srv.URL+"/")
			page.waitJS("the loading state", `!document.getElementById('loading').hidden && document.getElementById('app').hidden && document.getElementById('login').hidden`, "true")
			shot("loading")
			release()

			// Addresses in natural order, times zone named, Exchange banner.
			page.waitJS("the first rows", `Array.from(document.querySelectorAll('#rows tr')).slice(0, 4).map(r => r.dataset.user).join(' ')`,
				aliceLong+" user1@example.com user2@example.com user3@example.com")
			page.waitJS("user9 before user10", `(() => { const u = Array.from(document.querySelectorAll('#rows tr')).map(r => r.dataset.user);
				return u.indexOf('user9@example.com') + 1 === u.indexOf('user10@example.com'); })()`, "true")
			page.waitJS("the time zone in the top bar", `document.getElementById('zone').textContent.startsWith('`+vp.zone+`')`, "true")
			page.waitJS("the Exchange banner", `/^Exchange rejected the service account password — next try in \d+ s$/.test(document.getElementById('exchange-text').textContent)`, "true")
			page.waitJS("the SIP connector banner", `document.getElementById('connector-text').textContent`, "Presence connector SIP is holding 12 updates back")

			// The detail panel beside the table.
			page.mustJS(`document.querySelector('tr[data-user="` + aliceLong + `"]').click()`)
			page.waitJS("the agenda", `String(document.querySelectorAll('#agenda li .t').length)`, "3")
			page.waitJS("the detail presence", `document.querySelector('#detail-presence .badge') ? document.querySelector('#detail-presence .badge').textContent : ''`, "Busy")
			page.waitJS("the user's time zone", `document.getElementById('agenda-zone').textContent.includes('America/New_York')`, "true")
			page.waitJS("the zone of the status text", `document.querySelector('tr[data-user="`+aliceLong+`"] .status-text').title.includes(' — times in America/New_York')`, "true")
			page.waitMatch("the user's own until in the detail", `(() => { const dt = Array.from(document.querySelectorAll('#detail-presence dt')).find(e => e.textContent === 'Until');
				return dt ? dt.nextElementSibling.textContent : 'no Until'; })()`, detailUntil(s.aliceUntil, loc, newYork(t), "New York", time.Now()))
			shot("users-detail")
			checkUsersLayout(t, page)
			checkUntil(t, page, s.kolkataUntil, loc)
			checkTimes(t, page, clock24)

			// The sync tab: servers by name, lag and throughput.
			page.mustJS(`document.querySelector('.tab[data-tab="sync"]').click()`)
			page.waitJS("the server rows", `Array.from(document.querySelectorAll('#group-rows .server-name')).map(e => e.textContent).join(',')`,
				"Site-mbx01.example.com,Site-mbx02.example.com")
			page.waitJS("the endpoints", `Array.from(document.querySelectorAll('#group-rows .server-endpoint')).map(e => e.textContent).join(',')`,
				"mail.example.com,mail.example.com")
			page.waitJS("the lag", `Array.from(document.querySelectorAll('#group-rows .lag')).map(e => e.firstChild.textContent + '|' + e.lastChild.textContent).join(',')`,
				"4 min|1 waiting,3 min|1 waiting")
			page.waitJS("the throughput", `Array.from(document.querySelectorAll('#group-rows .throughput')).map(e => e.textContent).join(',')`, "1 / 5 min,1 / 5 min")
			page.waitJS("the SIP connector's row", `Array.from(document.querySelectorAll('#connector-rows tr[data-connector="sip"] td')).slice(0, 4).map(e => e.textContent).join('|')`,
				"SIP|holding updates back|0|12")
			page.waitJS("the problem list", `document.querySelector('#problem-rows tr') ? document.querySelector('#problem-rows tr').dataset.user : ''`, aliceLong)
			shot("sync")

			// Exchange takes the password again: the banner goes with the
			// next overview.
			s.exchange.set(api.ExchangeHealth{State: "ok"})
			page.mustJS(`document.querySelector('.tab[data-tab="users"]').click(); document.querySelector('.tab[data-tab="sync"]').click()`)
			page.waitJS("the banner gone", `String(document.getElementById('exchange-banner').hidden)`, "true")
			page.noHorizontalScroll(".scroll-x", ".card")
			noOverlaps(t, "sync tab", append(page.rects(".topbar, #exchange-banner, #sync-totals"), page.rects("#tab-sync > .card")...))
			noOverlaps(t, "server table header", page.rects("table.groups th"))
			checkTimes(t, page, clock24)
			page.checkConsole()
		})
	}
}

// checkUsersLayout measures the users tab with the detail panel open.
func checkUsersLayout(t *testing.T, page *browserPage) {
	t.Helper()
	page.noHorizontalScroll(".table-wrap", ".detail", "#agenda", "td.user .clamp")
	wrap, detail := page.rects(".table-wrap"), page.rects("#detail")
	if len(wrap) != 1 || len(detail) != 1 {
		t.Fatalf("table %v, detail %v: want one of each", wrap, detail)
	}
	noOverlaps(t, "table and detail panel", append(wrap, detail...))
	noOverlaps(t, "top of the page", page.rects(".topbar, #exchange-banner, #connector-banner, #counts, .toolbar, .layout"))
	heads := page.rects("table.users th")
	if len(heads) != 6 {
		t.Errorf("%d column headers visible, want 6", len(heads))
	}
	noOverlaps(t, "column headers", heads)
	for _, h := range heads {
		if h.X < wrap[0].X-0.5 || h.right() > wrap[0].right()+0.5 || h.W < 40 {
			t.Errorf("column %v is cut by the table %v", h, wrap[0])
		}
	}
	// No cell is taller than two lines, and no text is cut sideways.
	var tall []string
	page.evalJS(`(() => {
		const out = [];
		for (const c of document.querySelectorAll('#rows .clamp')) {
			const lines = c.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight);
			if (lines > 2.05) out.push(c.textContent + ': ' + lines.toFixed(1) + ' lines');
		}
		for (const c of document.querySelectorAll('#rows td')) {
			if (c.scrollWidth > c.clientWidth + 1) out.push(c.textContent + ': overflows its cell by ' + (c.scrollWidth - c.clientWidth) + ' px');
		}
		for (const c of document.querySelectorAll('#rows td.user .clamp')) {
			if (c.scrollHeight > c.clientHeight + 1) out.push(c.textContent + ': address cut');
		}
		return out;
	})()`, &tall)
	for _, s := range tall {
		t.Errorf("user table: %s", s)
	}
	checkCellContents(t, page)
	// The agenda's time column clears the subjects.
	times, whats := page.rects("#agenda li .t"), page.rects("#agenda li .what")
	if len(times) != len(whats) || len(times) == 0 {
		t.Fatalf("agenda: %d times, %d subjects", len(times), len(whats))
	}
	for i := range times {
		if times[i].right() > whats[i].X+0.5 {
			t.Errorf("agenda time %v runs into subject %v", times[i], whats[i])
		}
		if times[i].X != times[0].X || whats[i].X != whats[0].X {
			t.Errorf("agenda row %d not aligned: %v %v (first %v %v)", i, times[i], whats[i], times[0], whats[0])
		}
	}
	noOverlaps(t, "timeline hour labels", page.rects("#timeline .hours span"))
}

// detailUntil is the pattern of the detail panel's Until when the user's
// zone is not the browser's: the end in the browser's zone, then in
// brackets in the user's zone with the place ("14:45 (05:15 New York)").
// Each part carries the date (browser's) or weekday (user's) when the end
// falls on another day than now there: alice's meeting ends 90 minutes
// from now, which is tomorrow for 90 minutes of every day in each zone
// (the 1024 px browser in Asia/Calcutta from 17:00 to 18:30 UTC; alice's
// America/New_York from 03:30 to 05:00 UTC in winter). The pattern is a
// JavaScript regular expression that Go's regexp reads the same way.
func detailUntil(until time.Time, viewer, user *time.Location, place string, now time.Time) string {
	part := func(loc *time.Location) string {
		hm := until.In(loc).Format("15:04")
		if y, m, d := until.In(loc).Date(); time.Date(y, m, d, 0, 0, 0, 0, loc).Equal(startOfDay(now.In(loc))) {
			return hm
		}
		return `[^\d\s][^()]* ` + hm // "Tue, Dec 8, 00:15", "Di., 8. Dez., 00:15", "Tue 13:45"
	}
	return "^" + part(viewer) + ` \(` + part(user) + " " + place + `\)$`
}

// TestDetailUntilFollowsTheDay pins the expectation of the detail panel's
// Until at the hours where one side has passed midnight, which the browser
// test meets only at those hours of the day; the texts are Chromium's
// (en-US).
func TestDetailUntilFollowsTheDay(t *testing.T) {
	calcutta, err := time.LoadLocation("Asia/Calcutta")
	if err != nil {
		t.Skipf("time zone database: %v", err)
	}
	for _, c := range []struct {
		now         string
		viewer      *time.Location
		match, miss string
	}{
		{"2026-12-07T08:50:00Z", calcutta, "15:50 (05:20 New York)", "Mon, Dec 7, 15:50 (05:20 New York)"},
		// Past midnight in India, not in New York: the failure of 17:15 UTC.
		{"2026-12-07T17:15:00Z", calcutta, "Tue, Dec 8, 00:15 (13:45 New York)", "00:15 (13:45 New York)"},
		// Past midnight in New York, not for the browser in UTC.
		{"2026-12-08T04:00:00Z", time.UTC, "05:30 (Tue 00:30 New York)", "05:30 (00:30 New York)"},
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		re := regexp.MustCompile(detailUntil(now.Add(90*time.Minute), c.viewer, newYork(t), "New York", now))
		if !re.MatchString(c.match) || re.MatchString(c.miss) {
			t.Errorf("at %s in %s: %s matches %q: %v, %q: %v; want true, false", c.now, c.viewer, re, c.match, re.MatchString(c.match), c.miss, re.MatchString(c.miss))
		}
	}
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func newYork(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("time zone database: %v", err)
	}
	return loc
}

// clock24 is how every <time> on the page reads: 24-hour, whatever the
// locale's habit, as in calsync's status texts ("until 14:45").
const clock24 = `^[^:]*\b\d{2}:\d{2}$`

// checkUntil checks the row of the user in India: the until column gives
// the end in the browser's zone and, unless that is India's, the end in
// India's with the place, which is the time the status text beside it says.
func checkUntil(t *testing.T, page *browserPage, until time.Time, viewer *time.Location) {
	t.Helper()
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skipf("time zone database: %v", err)
	}
	var got struct{ Status, Time, Local string }
	page.evalJS(`(() => { const r = document.querySelector('tr[data-user="`+kolkataUser+`"]'), l = r.querySelector('td.until .user-local');
		return {Status: r.querySelector('td.status-text').textContent, Time: r.querySelector('td.until time').textContent, Local: l ? l.textContent : ''}; })()`, &got)
	theirs := until.In(kolkata).Format("15:04")
	if !strings.HasSuffix(got.Status, "until "+theirs) {
		t.Fatalf("status text %q: the test data is not in the user's zone", got.Status)
	}
	if want := until.In(viewer).Format("15:04"); !strings.HasSuffix(got.Time, want) {
		t.Errorf("until column %q, want the browser's %s", got.Time, want)
	}
	wantLocal := ""
	if until.In(viewer).Format("15:04 MST") != until.In(kolkata).Format("15:04 MST") {
		wantLocal = "Kolkata"
	}
	if wantLocal == "" && got.Local != "" || wantLocal != "" && (!strings.Contains(got.Local, theirs) || !strings.HasSuffix(got.Local, " "+wantLocal)) {
		t.Errorf("until column's user-zone line %q, want %q (the status text's %s)", got.Local, strings.TrimSpace(theirs+" "+wantLocal), theirs)
	}
}

// checkCellContents fails for every piece of content in the user table
// (text, badge, time) that reaches out of its cell's content box into the
// padding or a neighbouring cell. It measures the rendered fragments
// themselves, which a cell's scroll width does not always report.
func checkCellContents(t *testing.T, page *browserPage) {
	t.Helper()
	var out []string
	var seen map[string]int
	page.evalJS(`(() => {
		const out = [], seen = {};
		for (const tr of document.querySelectorAll('#rows tr')) for (const td of tr.cells) {
			const b = td.getBoundingClientRect(), cs = getComputedStyle(td);
			const left = b.left + parseFloat(cs.paddingLeft) + parseFloat(cs.borderLeftWidth), right = b.right - parseFloat(cs.paddingRight) - parseFloat(cs.borderRightWidth);
			const badge = td.querySelector('.badge');
			if (badge) seen[badge.textContent] = (seen[badge.textContent] || 0) + 1;
			const r = document.createRange();
			r.selectNodeContents(td);
			for (const f of r.getClientRects()) {
				if (f.width === 0) continue;
				if (f.left < left - 0.5 || f.right > right + 0.5) out.push(tr.dataset.user + ' ' + td.className + ' "' + td.textContent.trim().slice(0, 40) + '": content ' + f.left.toFixed(0) + '–' + f.right.toFixed(0) + ' outside the cell ' + left.toFixed(0) + '–' + right.toFixed(0));
			}
		}
		return {out, seen};
	})()`, &struct {
		Out  *[]string       `json:"out"`
		Seen *map[string]int `json:"seen"`
	}{&out, &seen})
	for _, o := range out {
		t.Errorf("user table: %s", o)
	}
	for _, label := range []string{"Available", "Busy", "Tentative", "Out of office", "Working elsewhere", "Unknown"} {
		if seen[label] == 0 {
			t.Errorf("no %q badge in the user table: the layout check did not see it", label)
		}
	}
}

// checkTimes checks that every time on the page is written the same way.
func checkTimes(t *testing.T, page *browserPage, pattern string) {
	t.Helper()
	var bad []string
	quoted, _ := json.Marshal(pattern)
	page.evalJS(`Array.from(document.querySelectorAll('time')).filter(e => e.getClientRects().length > 0).map(e => e.textContent).filter(s => !new RegExp(`+string(quoted)+`).test(s))`, &bad)
	for _, s := range bad {
		t.Errorf("time %q is not in the browser's format (%s)", s, pattern)
	}
	var n int
	page.evalJS(`document.querySelectorAll('time').length`, &n)
	if n == 0 {
		t.Errorf("no <time> elements on the page")
	}
}

// TestDashboardHidesWritesFromReadTokens signs in with a read token, then
// with an admin token: the override form and sync-now are only offered to
// the admin, and so is re-sending a dead letter.
func TestDashboardHidesWritesFromReadTokens(t *testing.T) {
	s := newLayoutServer(t, time.UTC)
	page := newBrowserPage(t, 1280, 800)
	page.navigate(s.srv.URL + "/")
	page.waitJS("the login form", `!document.getElementById('login').hidden`, "true")
	page.mustJS(`document.getElementById('token-input').value = '` + readToken + `'; document.getElementById('login-form').requestSubmit()`)
	page.waitJS("the rows", `String(document.querySelectorAll('#rows tr').length > 0)`, "true")
	page.mustJS(`document.querySelector('tr[data-user="user1@example.com"]').click()`)
	page.waitJS("the detail", `document.querySelector('#detail-presence .badge') ? 'loaded' : ''`, "loaded")
	visible := `(sel) => document.querySelector(sel).getClientRects().length > 0`
	page.waitJS("what a read token sees", `((v) => [v('#override-form'), v('#sync-now'), v('#role'), v('#detail-sync')].join(','))(`+visible+`)`, "false,false,true,true")
	page.screenshot("read-token")
	page.mustJS(`document.querySelector('.tab[data-tab="sync"]').click()`)
	page.waitJS("the dead letter without re-send", `(() => { const r = document.querySelector('#dead-rows tr[data-id="d-1"]');
		return r ? r.cells[1].textContent + '|' + r.querySelectorAll('button').length : ''; })()`, "user3@example.com|0")
	page.mustJS(`document.querySelector('.tab[data-tab="users"]').click()`)

	page.mustJS(`document.getElementById('logout').click()`)
	page.waitJS("the login form", `!document.getElementById('login').hidden`, "true")
	page.mustJS(`document.getElementById('token-input').value = '` + browserToken + `'; document.getElementById('login-form').requestSubmit()`)
	page.waitJS("the rows", `String(document.querySelectorAll('#rows tr').length > 0)`, "true")
	page.mustJS(`document.querySelector('tr[data-user="user1@example.com"]').click()`)
	page.waitJS("what an admin token sees", `((v) => [v('#override-form'), v('#sync-now'), v('#role')].join(','))(`+visible+`)`, "true,true,false")
	page.mustJS(`document.querySelector('.tab[data-tab="sync"]').click()`)
	page.waitJS("the re-send button", `String(document.querySelectorAll('#dead-rows tr[data-id="d-1"] button.resend').length)`, "1")
	page.mustJS(`document.querySelector('#dead-rows tr[data-id="d-1"] button.resend').click()`)
	page.waitJS("the re-send confirmation", `document.querySelector('#dead-rows tr[data-id="d-1"]').lastChild.textContent`, "✓ queued")
	if got := s.dead.retriedIDs(); got != "d-1" {
		t.Errorf("re-sent dead letters = %q, want d-1", got)
	}
	page.checkConsole()
}
