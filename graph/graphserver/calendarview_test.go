package graphserver_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/graph/graphserver"
)

func TestCalendarViewPagesMatchTheModel(t *testing.T) {
	e := newEnv(t, 2, nil)
	e.addItems("user1@example.com", 23, "m")
	var all []event
	var p page
	e.get("/v1.0/users/user1@example.com/calendarView?"+window, &p)
	pages := 1
	all = append(all, p.Value...)
	if len(p.Value) != 10 {
		t.Fatalf("first page has %d events, want the default 10", len(p.Value))
	}
	for p.NextLink != "" {
		next := p.NextLink
		p = page{}
		e.get(next, &p)
		all = append(all, p.Value...)
		pages++
	}
	if pages != 3 || len(all) != 23 {
		t.Fatalf("%d pages, %d events; want 3 pages, 23 events", pages, len(all))
	}
	truth, err := e.sim.Occurrences("user1@example.com", start.Add(-9*time.Hour), start.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range all {
		seen[ev.ID] = true
		if ev.ShowAs != "busy" || ev.Type != "singleInstance" || ev.Start.TimeZone != "UTC" {
			t.Fatalf("event %+v: want showAs busy, type singleInstance, UTC times", ev)
		}
	}
	for _, it := range truth {
		id := strings.NewReplacer("/", "-", "+", "_").Replace(it.ItemId.Id)
		if !seen[id] {
			t.Fatalf("model item %s (%s) missing from calendarView", it.ItemId.Id, it.Subject)
		}
	}
}

func TestCalendarViewTopAndTimeZone(t *testing.T) {
	e := newEnv(t, 1, nil)
	e.addItems("user1@example.com", 3, "x")
	var p page
	resp := e.do(http.MethodGet, "/v1.0/users/user1@example.com/calendarview?$top=2&"+window, "", "Prefer", `outlook.timezone="Pacific Standard Time"`)
	if got := resp.Header.Get("Preference-Applied"); got != `outlook.timezone="Pacific Standard Time"` {
		t.Fatalf("Preference-Applied %q", got)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json;odata.metadata=minimal") {
		t.Fatalf("Content-Type %q", ct)
	}
	resp.Body.Close()
	e.get("/v1.0/users/user1@example.com/calendarView?$top=2&"+window, &p, "Prefer", `outlook.timezone="Pacific Standard Time"`)
	if len(p.Value) != 2 || p.NextLink == "" {
		t.Fatalf("$top=2: %d events, nextLink %q", len(p.Value), p.NextLink)
	}
	// 09:00 UTC on 1 March 2027 is 01:00 in Pacific Standard Time (UTC-8).
	if got := p.Value[0].Start; got.DateTime != "2027-03-01T01:00:00.0000000" || got.TimeZone != "Pacific Standard Time" {
		t.Fatalf("start %+v, want 01:00 Pacific", got)
	}
	for _, top := range []string{"0", "1001", "x"} {
		wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/calendarView?$top="+top+"&"+window, ""), 400, "ErrorInvalidParameter")
	}
}

func TestCalendarViewOccurrencesHaveSeriesMaster(t *testing.T) {
	e := newEnv(t, 1, nil)
	s := start.Add(time.Hour)
	master, err := e.sim.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "daily", Start: s, End: s.Add(30 * time.Minute),
		LegacyFreeBusyStatus: ews.FreeBusyBusy, Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 1},
			Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: ews.DateOf(s), NumberOfOccurrences: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	var p page
	e.get("/v1.0/users/user1@example.com/calendarView?"+window, &p)
	if len(p.Value) != 3 {
		t.Fatalf("%d events, want 3 occurrences (no master)", len(p.Value))
	}
	for _, ev := range p.Value {
		if ev.Type != "occurrence" || ev.SeriesMasterID != strings.NewReplacer("/", "-", "+", "_").Replace(master.Id) {
			t.Fatalf("occurrence %+v: want type occurrence and the master's id", ev)
		}
	}
	var inst page
	e.get("/v1.0/users/user1@example.com/events/"+graphID(master.Id)+"/instances?"+window, &inst)
	if len(inst.Value) != 3 {
		t.Fatalf("instances: %d, want 3", len(inst.Value))
	}
	wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/events/"+graphID(master.Id)+"/instances", ""), 400, "ErrorInvalidParameter")
	wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/events/AAMkNope/instances?"+window, ""), 404, "ErrorItemNotFound")
	var masters page
	e.get("/v1.0/users/user1@example.com/events", &masters)
	if len(masters.Value) != 1 || masters.Value[0].Type != "seriesMaster" {
		t.Fatalf("/events: %+v, want the series master", masters.Value)
	}
}

func TestCalendarViewErrors(t *testing.T) {
	e := newEnv(t, 1, nil)
	wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/calendarView", ""), 400, "ErrorInvalidParameter")
	wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/calendarView?startDateTime=yesterday&endDateTime=2027-03-02", ""), 400, "ErrorInvalidParameter")
	wantError(t, e.do(http.MethodGet, "/v1.0/users/nobody@example.com/calendarView?"+window, ""), 404, "ErrorInvalidUser")
	wantError(t, e.do(http.MethodPost, "/v1.0/users/user1@example.com/calendarView?"+window, "{}"), 405, "Request_BadRequest")
	wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/nothing", ""), 400, "BadRequest")
	wantError(t, e.do(http.MethodGet, "/beta/users/user1@example.com/calendarView", ""), 400, "BadRequest")
}

func TestUserByObjectIDOrUPN(t *testing.T) {
	e := newEnv(t, 1, nil)
	e.addItems("user1@example.com", 1, "by-id")
	for _, key := range []string{"USER1@example.com", graphserver.ObjectID("user1@example.com")} {
		var p page
		e.get("/v1.0/users/"+key+"/calendarView?"+window, &p)
		if len(p.Value) != 1 {
			t.Fatalf("users/%s: %d events, want 1", key, len(p.Value))
		}
	}
	wantError(t, e.do(http.MethodGet, "/v1.0/users/"+graphserver.ObjectID("nobody@example.com")+"/calendarView?"+window, ""), 404, "ErrorInvalidUser")
}
