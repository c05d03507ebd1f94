package ewssim_test

import (
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/clock"
)

// ExampleNew embeds the simulator in a test: an Exchange with two
// mailboxes served over HTTP, one recurring meeting, and the ground truth a
// CalendarView returns.
func ExampleNew() {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	sim, err := ewssim.New(ewssim.Options{
		Options: ewsmem.Options{Clock: clock.NewFake(start), Mailboxes: 2},
		Basic:   true,
	})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim) // EWS at srv.URL + "/EWS/Exchange.asmx"
	defer srv.Close()

	_, err = sim.AddCalendarItem("user1@example.com", ews.CalendarItem{
		Subject:       "Stand-up",
		Start:         time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		End:           time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC),
		StartTimeZone: "W. Europe Standard Time",
		Recurrence: &ews.Recurrence{
			Pattern: ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 1},
			Range:   ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: ews.DateOf(start), NumberOfOccurrences: 3},
		},
	})
	if err != nil {
		panic(err)
	}
	occ, _ := sim.Occurrences("user1@example.com", start, start.AddDate(0, 0, 7))
	for _, o := range occ {
		fmt.Println(o.Subject, o.CalendarItemType, o.Start.Format(time.RFC3339))
	}
	// Output:
	// Stand-up Occurrence 2026-03-02T09:00:00Z
	// Stand-up Occurrence 2026-03-03T09:00:00Z
	// Stand-up Occurrence 2026-03-04T09:00:00Z
}
