package ewssim_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// The control API covers an item's whole life: create, change any field,
// delete; for a series the master changes or deletes all occurrences, an
// occurrence's id just that one. Every error is JSON.
func TestControlItemLifeCycle(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{})
	user := "user1@example.com"
	base := "/sim/v1/mailboxes/" + user
	do := func(method, path, body string, want int) []byte {
		t.Helper()
		status, out := e.do(method, path, "application/json", body)
		if status != want {
			t.Fatalf("%s %s %s = %d %s, want %d", method, path, body, status, out, want)
		}
		if status >= 400 {
			var problem map[string]string
			if json.Unmarshal(out, &problem) != nil || problem["error"] == "" {
				t.Fatalf("%s %s: error body %q is not a JSON error", method, path, out)
			}
		}
		return out
	}
	occurrences := func() []ewssim.OccurrenceJSON {
		t.Helper()
		var occ []ewssim.OccurrenceJSON
		if err := json.Unmarshal(do("GET", base+"/occurrences?start=2026-03-01T00:00:00Z&end=2026-03-15T00:00:00Z", "", 200), &occ); err != nil {
			t.Fatal(err)
		}
		return occ
	}

	// A single item: every field can change.
	var created map[string]string
	if err := json.Unmarshal(do("POST", base+"/items", `{"subject":"draft","start":"2026-03-03T10:00:00Z","end":"2026-03-03T11:00:00Z"}`, 201), &created); err != nil {
		t.Fatal(err)
	}
	single := created["item_id"]
	do("PATCH", base+"/items/"+single, `{"subject":"final","location":"Room 7","start":"2026-03-03T12:00:00Z","end":"2026-03-03T13:30:00Z","free_busy":"Tentative","sensitivity":"Private","cancelled":true}`, 200)
	occ := occurrences()
	if len(occ) != 1 {
		t.Fatalf("occurrences = %+v, want the one item", occ)
	}
	got := occ[0]
	if got.Subject != "final" || got.Location != "Room 7" || !got.Start.Equal(time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)) ||
		!got.End.Equal(time.Date(2026, 3, 3, 13, 30, 0, 0, time.UTC)) || got.FreeBusy != "Tentative" || got.Sensitivity != "Private" || !got.Cancelled {
		t.Errorf("patched item = %+v", got)
	}
	do("PATCH", base+"/items/"+single, `{"end":"2026-03-03T09:00:00Z"}`, 400)
	do("PATCH", base+"/items/"+single, `{}`, 400)
	do("PATCH", base+"/items/"+single, `{"colour":"red"}`, 400)
	do("DELETE", base+"/items/"+single, "", 204)
	do("DELETE", base+"/items/"+single, "", 404)
	do("PATCH", base+"/items/"+single, `{"subject":"ghost"}`, 404)
	do("PATCH", base+"/items/not-an-id", `{"subject":"x"}`, 400)
	do("PATCH", "/sim/v1/mailboxes/ghost@example.com/items/"+single, `{"subject":"x"}`, 404)

	// A daily series of five: the master renames all, one occurrence moves,
	// one is deleted, then the series goes.
	if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "Daily", Start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC),
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 1},
			Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, NumberOfOccurrences: 5}}}); err != nil {
		t.Fatal(err)
	}
	var stored []ewssim.StoredItemJSON
	if err := json.Unmarshal(do("GET", base+"/items", "", 200), &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || !stored[0].Recurring {
		t.Fatalf("stored items = %+v, want one series", stored)
	}
	master := stored[0].ItemID
	do("PATCH", base+"/items/"+master, `{"subject":"Stand-up"}`, 200)
	occ = occurrences()
	if len(occ) != 5 {
		t.Fatalf("series occurrences = %d, want 5", len(occ))
	}
	for _, o := range occ {
		if o.Subject != "Stand-up" {
			t.Errorf("occurrence %s subject = %q after renaming the series", o.Start, o.Subject)
		}
	}
	do("PATCH", base+"/items/"+occ[1].ItemID, `{"subject":"Stand-up (late)","start":"2026-03-03T11:00:00Z","end":"2026-03-03T11:15:00Z"}`, 200)
	do("DELETE", base+"/items/"+occ[3].ItemID, "", 204)
	occ = occurrences()
	if len(occ) != 4 || occ[1].Subject != "Stand-up (late)" || occ[1].ItemType != string(ews.ItemTypeException) || occ[1].Start.Hour() != 11 {
		t.Errorf("after moving one occurrence and deleting another: %+v", occ)
	}
	do("DELETE", base+"/items/"+master, "", 204)
	if occ := occurrences(); len(occ) != 0 {
		t.Errorf("after deleting the series: %+v", occ)
	}

	// Unknown resources and methods answer JSON too.
	do("GET", "/sim/v1/nothing", "", http.StatusNotFound)
	do("DELETE", "/sim/v1/stats", "", http.StatusMethodNotAllowed)
}
