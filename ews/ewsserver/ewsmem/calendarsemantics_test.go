package ewsmem_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
)

// fortnightly adds a series every 14 days from 2026-03-02 09:00 UTC.
func fortnightly(t *testing.T, x *ewsmem.Exchange) ews.ItemId {
	t.Helper()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	id, err := x.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "Fortnightly", StartTimeZone: "UTC", Start: start, End: start.Add(time.Hour),
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 14},
			Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: ews.Date{Year: 2026, Month: 3, Day: 2}, NumberOfOccurrences: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestExceptionMovedFarAppearsWhereItFalls(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{})
	master := fortnightly(t, x)
	// Occurrence 2 (16 March) moved ten days later, to 26 March.
	moved := time.Date(2026, 3, 26, 15, 0, 0, 0, time.UTC)
	if err := x.ModifyOccurrence("user1@example.com", master.Id, 2, ews.CalendarItem{Subject: "Moved far", Start: moved, End: moved.Add(time.Hour), LegacyFreeBusyStatus: ews.FreeBusyOOF}); err != nil {
		t.Fatal(err)
	}
	at := func(from, to time.Time) []string {
		occ, err := x.Occurrences("user1@example.com", from, to)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range occ {
			out = append(out, o.Subject+"@"+o.Start.Format("01-02"))
		}
		return out
	}
	if got := at(time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)); len(got) != 1 || got[0] != "Moved far@03-26" {
		t.Errorf("CalendarView around the new time = %v, want the exception", got)
	}
	if got := at(time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)); len(got) != 0 {
		t.Errorf("CalendarView of the original date = %v, want nothing", got)
	}
	res, err := x.GetUserAvailability(context.Background(), svcCaller(x, "user1@example.com"), ewsserver.AvailabilityRequest{Mailboxes: []string{"user1@example.com"},
		Start: time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC), IntervalMinutes: 60,
		View: ews.ViewDetailedMerged, RequestedVersion: ews.Exchange2013SP1})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("GetUserAvailability() = %v / %+v", err, res)
	}
	if m := res[0].View.MergedFreeBusy; len(m) != 24 || m[15] != '3' {
		t.Errorf("MergedFreeBusy = %q, want OOF (3) at 15:00", m)
	}
}

func TestOccurrenceMovesExchangeRefuses(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{})
	master := fortnightly(t, x)
	for _, tc := range []struct {
		name       string
		start, end time.Time
		want       ews.ResponseCode
	}{
		{"onto the next occurrence's date", time.Date(2026, 3, 30, 18, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 19, 0, 0, 0, time.UTC), ews.ErrorOccurrenceCrossingBoundary},
		{"past the next occurrence", time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC), time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC), ews.ErrorOccurrenceCrossingBoundary},
		{"onto the previous occurrence's date", time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC), ews.ErrorOccurrenceCrossingBoundary},
		{"longer than the interval", time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 9, 0, 0, 0, time.UTC), ews.ErrorOccurrenceTimeSpanTooBig},
		{"within its neighbours", time.Date(2026, 3, 29, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 10, 0, 0, 0, time.UTC), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := x.ModifyOccurrence("user1@example.com", master.Id, 2, ews.CalendarItem{Subject: "m", Start: tc.start, End: tc.end})
			var re *ews.ResponseError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("ModifyOccurrence = %v, want success", err)
			case tc.want != "" && (!errors.As(err, &re) || re.Code != tc.want):
				t.Fatalf("ModifyOccurrence = %v, want %s", err, tc.want)
			}
		})
	}
	// A series whose occurrences overlap the next one is refused at creation.
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	_, err := x.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "Too long", StartTimeZone: "UTC", Start: start, End: start.Add(25 * time.Hour),
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 1},
			Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: ews.Date{Year: 2026, Month: 3, Day: 2}, NumberOfOccurrences: 3}}})
	var re *ews.ResponseError
	if !errors.As(err, &re) || re.Code != ews.ErrorOccurrenceTimeSpanTooBig {
		t.Errorf("daily series of 25 h = %v, want ErrorOccurrenceTimeSpanTooBig", err)
	}
}

// ews-facts §5.1: only items ending before StartDate or starting at/after
// EndDate are excluded, so an item ending exactly at StartDate is in the
// view; for free/busy it does not make the first slot busy.
func TestCalendarViewIncludesItemEndingAtStart(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{})
	from := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if _, err := x.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "Ends at start", Start: from.Add(-time.Hour), End: from}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "Starts at end", Start: from.Add(time.Hour), End: from.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	res, err := x.FindItem(context.Background(), svcCaller(x, "user1@example.com"), ewsserver.FindItemRequest{Folder: ews.CalendarFolder(),
		CalendarView: &ewsserver.CalendarViewRequest{Start: from, End: from.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].Subject != "Ends at start" {
		t.Errorf("CalendarView = %+v, want only the item ending at StartDate", res.Items)
	}
	av, err := x.GetUserAvailability(context.Background(), svcCaller(x, "user1@example.com"), ewsserver.AvailabilityRequest{Mailboxes: []string{"user1@example.com"},
		Start: from, End: from.Add(time.Hour), IntervalMinutes: 30, View: ews.ViewDetailedMerged, RequestedVersion: ews.Exchange2013SP1})
	if err != nil || len(av) != 1 || av[0].View.MergedFreeBusy != "00" || len(av[0].View.CalendarEvents) != 0 {
		t.Errorf("free/busy = %v / %+v, want 00 and no events", err, av)
	}
}

// With no valid subscription among the ids, the stream is one error
// message that also closes the connection: no ConnectionStatus OK first.
func TestStreamWithoutValidSubscriptionIsOneClosingError(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{})
	c := &ewsserver.Caller{Account: x.ServiceAccount(), RequestVersion: ews.Exchange2013SP1}
	st, err := x.OpenStream(context.Background(), c, []string{"bm90LWEtc3Vic2NyaXB0aW9u"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Err == nil || m.Status != ews.ConnectionClosed || len(m.ErrorIDs) != 1 || m.Err.MessageText == "" {
		t.Fatalf("first message = %+v (err %+v), want the error with ConnectionStatus Closed", m, m.Err)
	}
}
