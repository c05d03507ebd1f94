package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/calsync/calsync/connectors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/web"
)

// readToken is a token with the read role in the layout server.
const readToken = "browser-read-token"

// layoutServer serves the dashboard over a small, realistic data set for
// the layout tests: addresses that sort differently by bytes and naturally,
// long reasons, a user in another time zone, servers named by Exchange's
// grouping information, an admin and a read token, a dead letter, an
// Exchange health the test sets. In front of the API it can hold back the
// first user list to show the loading state.
type layoutServer struct {
	srv      *httptest.Server
	exchange *exchangeHealth
	dead     *deadLetters
	// kolkataUntil is when the presence of the user in India ends,
	// aliceUntil when alice's meeting (her zone America/New_York) ends.
	kolkataUntil, aliceUntil time.Time

	mu   sync.Mutex
	gate chan struct{} // GET /api/v1/users waits for it to close when not nil
}

// newLayoutServer builds the server; alice's appointments fall on today in
// loc, the browser's time zone.
func newLayoutServer(t *testing.T, loc *time.Location) *layoutServer {
	t.Helper()
	now := time.Now().UTC()
	local := now.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	var ps []presence.Presence
	var sts []store.MailboxStatus
	servers := []string{"Site-mbx01.example.com|https://mail.example.com/EWS/Exchange.asmx", "Site-mbx02.example.com|https://mail.example.com/EWS/Exchange.asmx"}
	for i := 1; i <= 24; i++ {
		user := fmt.Sprintf("user%d@example.com", i)
		ps = append(ps, presence.Presence{User: user, Availability: presence.Available, Why: presence.Reason{Source: "free", Detail: "nothing scheduled"}, ComputedAt: now})
		if a, ok := otherAvailabilities[i]; ok {
			ps[len(ps)-1] = a.presence(user, now)
		}
		// Every mailbox was notified i minutes ago; user3 and user4 have not
		// been read since (their servers' lag), the others were.
		notified := now.Add(-time.Duration(i) * time.Minute)
		verified := notified.Add(time.Second)
		if i == 3 || i == 4 {
			verified = notified.Add(-time.Hour)
		}
		sts = append(sts, store.MailboxStatus{SMTP: user, State: "live", Group: servers[i%2], Connection: fmt.Sprintf("Site-mbx0%d.example.com#%d", i%2+1, i%2+1),
			LastEvent: notified, LastVerified: verified})
	}
	aliceUntil := now.Add(90 * time.Minute)
	ps = append(ps, presence.Presence{User: "alice.longname-department@example.com", Availability: presence.Busy, TimeZone: "America/New_York",
		StatusText: "In a meeting until " + inZone(aliceUntil, "America/New_York") + " (Quarterly planning with the regional sales teams)", Since: now.Add(-30 * time.Minute), Until: aliceUntil,
		Why: presence.Reason{Source: "calendar", Rule: "meeting-with-external-participants", Subject: "Quarterly planning with the regional sales teams and partners"}, ComputedAt: now})
	sts = append(sts, store.MailboxStatus{SMTP: "alice.longname-department@example.com", State: "backoff", Group: servers[0], ConsecutiveFailures: 2,
		LastError: &store.SyncError{Code: "ErrorServerBusy", Message: "The server cannot service this request right now.", Hint: "calsync backs off and retries", At: now}})
	agenda := apitest.NewAgenda()
	agenda.Add("alice.longname-department@example.com",
		calendar.Occurrence{ItemID: "a1", Subject: "Standup", Location: "Room 1", Start: day.Add(9 * time.Hour), End: day.Add(9*time.Hour + 15*time.Minute), FreeBusy: calendar.Busy, Sensitivity: calendar.Normal},
		calendar.Occurrence{ItemID: "a2", Subject: "Quarterly planning with the regional sales teams and partners", Location: "Board room, 4th floor",
			Start: day.Add(10*time.Hour + 30*time.Minute), End: day.Add(12*time.Hour + 45*time.Minute), FreeBusy: calendar.Busy, Sensitivity: calendar.Normal},
		calendar.Occurrence{ItemID: "a3", Subject: "Review", Start: day.Add(22 * time.Hour), End: day.Add(23*time.Hour + 30*time.Minute), FreeBusy: calendar.Tentative, Sensitivity: calendar.Normal},
	)
	hub, err := events.NewLog(events.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dead := &deadLetters{msgs: []store.OutboxMessage{{ID: "d-1", Seq: 7, Endpoint: "crm", Key: "user3@example.com", EventType: "presence.changed",
		Attempts: 12, LastError: "POST https://crm.example.com/hook: 503 Service Unavailable", CreatedAt: now.Add(-2 * time.Hour), Dead: true, DeadAt: now.Add(-time.Hour)}}}
	exchange := &exchangeHealth{h: api.ExchangeHealth{State: "ok"}}
	pres := apitest.NewPresence(ps...)
	h, err := api.New(api.Options{
		Presence: pres, Sync: apitest.NewSync(sts...), Agenda: agenda, Events: hub,
		Overrides: &apitest.Overrides{P: pres, Events: hub, Now: time.Now}, DeadLetters: dead, Exchange: exchange,
		Tokens: []string{browserToken}, ReadTokens: []string{readToken}, Dashboard: web.Handler(),
		Connectors: func() []connectors.Status {
			return []connectors.Status{{Name: "sip", Unavailable: true, Queue: 12,
				LastError: "PUBLISH for sip:alice@example.com: the SIP server rejected the publisher's credentials (check connectors.sip.username and password)"}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &layoutServer{dead: dead, exchange: exchange, kolkataUntil: now.Add(95 * time.Minute), aliceUntil: aliceUntil}
	s.srv = httptest.NewServer(s.wrap(h))
	t.Cleanup(func() {
		hub.Close()
		s.srv.Close()
	})
	return s
}

// otherAvailabilities gives users 5 to 8 each of the other availabilities,
// with the status texts calsync writes in the user's zone (24-hour), so
// that the layout test sees every badge beside a status; user5 lives in
// India, half an hour off every zone the tests browse in.
var otherAvailabilities = map[int]statusOf{
	5: {presence.WorkingElsewhere, "Asia/Kolkata", "Working elsewhere until %s"},
	6: {presence.OutOfOffice, "Europe/Berlin", "Out of office until %s"},
	7: {presence.Tentative, "America/Los_Angeles", "Tentatively in a meeting until %s"},
	8: {presence.Unknown, "", ""},
}

const kolkataUser = "user5@example.com"

type statusOf struct {
	availability presence.Availability
	zone, text   string
}

// presence is the user's presence until 95 minutes from now, the status
// text's time in their zone.
func (s statusOf) presence(user string, now time.Time) presence.Presence {
	p := presence.Presence{User: user, Availability: s.availability, TimeZone: s.zone, ComputedAt: now,
		Why: presence.Reason{Source: "calendar", Subject: "Offsite"}}
	if s.zone == "" {
		p.Why = presence.Reason{Source: "no_data"}
		return p
	}
	p.Since, p.Until = now.Add(-time.Hour), now.Add(95*time.Minute) // layoutServer.kolkataUntil
	p.StatusText = fmt.Sprintf(s.text, inZone(p.Until, s.zone))
	return p
}

// inZone writes t's wall-clock time in zone as calsync's status texts do.
func inZone(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC // the layout test skips without the zone database
	}
	return t.In(loc).Format("15:04")
}

// exchangeHealth is an api.ExchangeSource the test sets.
type exchangeHealth struct {
	mu sync.Mutex
	h  api.ExchangeHealth
}

func (e *exchangeHealth) ExchangeHealth() api.ExchangeHealth {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.h
}

func (e *exchangeHealth) set(h api.ExchangeHealth) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.h = h
}

// deadLetters is an api.DeadLetterAdmin over a fixed list that records
// re-sends.
type deadLetters struct {
	mu      sync.Mutex
	msgs    []store.OutboxMessage
	retried []string
}

func (d *deadLetters) DeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.OutboxMessage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []store.OutboxMessage
	for _, m := range d.msgs {
		if m.Dead && m.Seq > q.After && (q.Endpoint == "" || q.Endpoint == m.Endpoint) {
			out = append(out, m)
		}
	}
	return out, nil
}

func (d *deadLetters) RetryDeadLetter(ctx context.Context, id string) (store.OutboxMessage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, m := range d.msgs {
		if m.ID == id && m.Dead {
			d.msgs[i].Dead = false
			d.retried = append(d.retried, id)
			return d.msgs[i], nil
		}
	}
	return store.OutboxMessage{}, store.ErrNotFound
}

func (d *deadLetters) RetryDeadLetters(ctx context.Context, endpoint string) (int, error) {
	return 0, errors.New("not used by the dashboard")
}

func (d *deadLetters) retriedIDs() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.retried, ",")
}

// holdUsers makes GET /api/v1/users wait until the returned func is called.
func (s *layoutServer) holdUsers() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := make(chan struct{})
	s.gate = g
	var once sync.Once
	return func() { once.Do(func() { close(g) }) }
}

func (s *layoutServer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/users":
			s.mu.Lock()
			g := s.gate
			s.mu.Unlock()
			if g != nil {
				select {
				case <-g:
				case <-r.Context().Done():
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// rect is an element's border box in CSS pixels.
type rect struct {
	X, Y, W, H float64
	Name       string
}

func (r rect) right() float64  { return r.X + r.W }
func (r rect) bottom() float64 { return r.Y + r.H }

// overlaps reports whether two boxes share more than half a pixel of area
// (sub-pixel rounding puts neighbours on the same fractional edge).
func (r rect) overlaps(o rect) bool {
	const eps = 0.5
	return r.X+eps < o.right() && o.X+eps < r.right() && r.Y+eps < o.bottom() && o.Y+eps < r.bottom()
}

func (r rect) String() string {
	return fmt.Sprintf("%s[x=%.0f y=%.0f w=%.0f h=%.0f]", r.Name, r.X, r.Y, r.W, r.H)
}

// rectsJS is a page function that returns the boxes of the elements a
// selector matches, named by their text.
const rectsJS = `((sel) => Array.from(document.querySelectorAll(sel)).filter(e => e.getClientRects().length > 0).map(e => {
	const b = e.getBoundingClientRect();
	return {X: b.x, Y: b.y, W: b.width, H: b.height, Name: e.textContent.trim().slice(0, 40)};
}))`

func (p *browserPage) rects(selector string) []rect {
	p.t.Helper()
	var out []rect
	quoted, _ := json.Marshal(selector)
	p.evalJS(rectsJS+"("+string(quoted)+")", &out)
	return out
}

// noOverlaps fails for every pair of boxes that overlap.
func noOverlaps(t *testing.T, what string, boxes []rect) {
	t.Helper()
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			if boxes[i].overlaps(boxes[j]) {
				t.Errorf("%s: %v overlaps %v", what, boxes[i], boxes[j])
			}
		}
	}
}

// noHorizontalScroll fails when the page, or any element matching the
// selectors, is wider than its box (a cut column or a sideways scrollbar).
func (p *browserPage) noHorizontalScroll(selectors ...string) {
	p.t.Helper()
	var over []string
	quoted, _ := json.Marshal(selectors)
	p.evalJS(`(() => {
		const out = [];
		const d = document.documentElement;
		if (d.scrollWidth > window.innerWidth) out.push("page: " + d.scrollWidth + " > " + window.innerWidth);
		for (const sel of `+string(quoted)+`) for (const e of document.querySelectorAll(sel)) {
			if (e.getClientRects().length > 0 && e.scrollWidth > e.clientWidth + 1) out.push(sel + ": " + e.scrollWidth + " > " + e.clientWidth);
		}
		return out;
	})()`, &over)
	for _, o := range over {
		p.t.Errorf("horizontal overflow: %s", o)
	}
}

// clean names a viewport for screenshot files.
func clean(s string) string { return strings.NewReplacer("×", "x", "/", "-", " ", "-").Replace(s) }
