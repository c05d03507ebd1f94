package graphserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/graph/graphserver"
)

// round follows nextLinks from link until the deltaLink; it returns the
// entries and the deltaLink.
func (e *env) round(link string, header ...string) ([]event, string) {
	e.t.Helper()
	var all []event
	for {
		var p page
		e.get(link, &p, header...)
		all = append(all, p.Value...)
		if p.DeltaLink != "" {
			if p.NextLink != "" {
				e.t.Fatal("page with both nextLink and deltaLink")
			}
			return all, p.DeltaLink
		}
		if p.NextLink == "" {
			e.t.Fatalf("page without nextLink or deltaLink: %+v", p)
		}
		link = p.NextLink
	}
}

func TestDeltaRounds(t *testing.T) {
	e := newEnv(t, 1, func(o *graphserver.Options) { o.EmptyFirstDeltaPage = true })
	ids := e.addItems("user1@example.com", 12, "d")
	var first page
	e.get("/v1.0/users/user1@example.com/calendarView/delta?"+window, &first)
	if len(first.Value) != 0 || first.NextLink == "" {
		t.Fatalf("first page of an initial round: %d events, nextLink %q; want empty with a nextLink", len(first.Value), first.NextLink)
	}
	initial, deltaLink := e.round(first.NextLink, "Prefer", "odata.maxpagesize=5")
	if len(initial) != 12 {
		t.Fatalf("initial round: %d events, want 12", len(initial))
	}
	if strings.Contains(deltaLink, "startDateTime") || !strings.Contains(deltaLink, "$deltatoken=") {
		t.Fatalf("deltaLink %q should carry only the token (the window is frozen in it)", deltaLink)
	}
	// Nothing changed: an empty round.
	again, deltaLink := e.round(deltaLink)
	if len(again) != 0 {
		t.Fatalf("unchanged round: %d entries", len(again))
	}
	// One new, one changed, one deleted.
	e.addItems("user1@example.com", 1, "new")
	subject := "renamed"
	if _, err := e.sim.UpdateCalendarItem("user1@example.com", ews.ItemRef{Item: &ids[1]}, itemChange(&subject)); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteCalendarItem("user1@example.com", ews.ItemRef{Item: &ids[2]}); err != nil {
		t.Fatal(err)
	}
	changes, _ := e.round(deltaLink)
	var added, renamed, removed int
	for _, c := range changes {
		switch {
		case c.Removed != nil:
			removed++
			if c.ID != graphID(ids[2].Id) || c.Removed.Reason != "deleted" {
				t.Fatalf("removed entry %+v", c)
			}
		case c.Subject == "newA":
			added++
		case c.Subject == "renamed":
			renamed++
		default:
			t.Fatalf("unexpected entry %+v", c)
		}
	}
	if added != 1 || renamed != 1 || removed != 1 {
		t.Fatalf("round after changes: %d added, %d renamed, %d removed; want 1 each", added, renamed, removed)
	}
}

func TestDeltaTokensExpire(t *testing.T) {
	e := newEnv(t, 1, nil)
	e.addItems("user1@example.com", 12, "d")
	var p page
	e.get("/v1.0/users/user1@example.com/calendarView/delta?"+window, &p)
	if p.NextLink == "" {
		t.Fatal("12 events fit one page of 10")
	}
	_, deltaLink := e.round(p.NextLink)
	// A page token is good once.
	wantError(t, e.do(http.MethodGet, p.NextLink, ""), 410, "SyncStateNotFound")
	// A token of another mailbox's chain is not this mailbox's.
	other := strings.Replace(deltaLink, "user1@example.com", "svc-calsync@example.com", 1)
	wantError(t, e.do(http.MethodGet, other, ""), 410, "SyncStateNotFound")
	if n := e.graph.ExpireDeltaTokens("user1@example.com"); n == 0 {
		t.Fatal("ExpireDeltaTokens found no tokens")
	}
	wantError(t, e.do(http.MethodGet, deltaLink, ""), 410, "SyncStateNotFound")
	wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/calendarView/delta?$deltatoken=forged", ""), 410, "SyncStateNotFound")
}

func TestDeltaRefusesQueryOptions(t *testing.T) {
	e := newEnv(t, 1, nil)
	wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/calendarView/delta?$select=subject&"+window, ""), 400, "ErrorInvalidUrlQuery")
	wantError(t, e.do(http.MethodGet, "/v1.0/users/user1@example.com/calendarView/delta", ""), 400, "ErrorInvalidParameter")
	resp := e.do(http.MethodGet, "/v1.0/users/user1@example.com/calendarView/delta?"+window, "")
	resp.Body.Close()
	if got := resp.Header.Values("Preference-Applied"); len(got) == 0 || got[0] != "odata.track-changes" {
		t.Fatalf("Preference-Applied %q, want odata.track-changes", got)
	}
}

func graphID(ewsID string) string { return strings.NewReplacer("/", "-", "+", "_").Replace(ewsID) }

func itemChange(subject *string) ewsmem.ItemChange { return ewsmem.ItemChange{Subject: subject} }
