package ewswire_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func TestRecurrenceRoundTrip(t *testing.T) {
	start := ews.Date{Year: 2026, Month: 1, Day: 5}
	patterns := []ews.RecurrencePattern{
		{Kind: ews.PatternDaily, Interval: 3},
		{Kind: ews.PatternWeekly, Interval: 2, DaysOfWeek: []ews.DayOfWeek{ews.Monday, ews.Thursday}, FirstDayOfWeek: ews.Sunday},
		{Kind: ews.PatternAbsoluteMonthly, Interval: 1, DayOfMonth: 15},
		{Kind: ews.PatternRelativeMonthly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.WeekendDay}, DayOfWeekIndex: ews.IndexLast},
		{Kind: ews.PatternAbsoluteYearly, DayOfMonth: 24, Month: time.December},
		{Kind: ews.PatternRelativeYearly, DaysOfWeek: []ews.DayOfWeek{ews.Thursday}, DayOfWeekIndex: ews.IndexFourth, Month: time.November},
		{Kind: ews.PatternDailyRegeneration, Interval: 1},
		{Kind: ews.PatternWeeklyRegeneration, Interval: 1},
		{Kind: ews.PatternMonthlyRegeneration, Interval: 1},
		{Kind: ews.PatternYearlyRegeneration, Interval: 1},
	}
	ranges := []ews.RecurrenceRange{
		{Kind: ews.RangeNoEnd, StartDate: start},
		{Kind: ews.RangeEndDate, StartDate: start, EndDate: ews.Date{Year: 2026, Month: 12, Day: 31}},
		{Kind: ews.RangeNumbered, StartDate: start, NumberOfOccurrences: 12},
	}
	for _, p := range patterns {
		for _, g := range ranges {
			in := ews.Recurrence{Pattern: p, Range: g}
			w, err := ewswire.RecurrenceFrom(in)
			if err != nil {
				t.Fatalf("RecurrenceFrom(%s/%s) = %v", p.Kind, g.Kind, err)
			}
			b, err := xml.Marshal(struct {
				XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/types Recurrence"`
				*ewswire.Recurrence
			}{Recurrence: w})
			if err != nil {
				t.Fatal(err)
			}
			var back ewswire.Recurrence
			if err := xml.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			out, err := back.ToEWS()
			if err != nil {
				t.Fatalf("ToEWS(%s) = %v", b, err)
			}
			if out.Pattern.Kind != p.Kind || out.Pattern.Interval != p.Interval || out.Pattern.Month != p.Month || out.Pattern.DayOfMonth != p.DayOfMonth ||
				len(out.Pattern.DaysOfWeek) != len(p.DaysOfWeek) || out.Range.Kind != g.Kind || out.Range.StartDate != g.StartDate || out.Range.EndDate != g.EndDate ||
				out.Range.NumberOfOccurrences != g.NumberOfOccurrences || out.Pattern.DayOfWeekIndex != p.DayOfWeekIndex {
				t.Fatalf("round trip %s/%s = %+v", p.Kind, g.Kind, out)
			}
		}
	}
	bad := []ewswire.Recurrence{
		{},
		{Daily: &ewswire.IntervalPattern{Interval: 1}},
		{Daily: &ewswire.IntervalPattern{Interval: 1}, Weekly: &ewswire.Weekly{Interval: 1, DaysOfWeek: "Monday"}, NoEnd: &ewswire.RecurrenceRange{StartDate: "2026-01-01"}},
		{AbsoluteYearly: &ewswire.AbsoluteYearly{DayOfMonth: 1, Month: "Smarch"}, NoEnd: &ewswire.RecurrenceRange{StartDate: "2026-01-01"}},
		{Daily: &ewswire.IntervalPattern{Interval: 1}, NoEnd: &ewswire.RecurrenceRange{StartDate: "yesterday"}},
		{Daily: &ewswire.IntervalPattern{Interval: 0}, NoEnd: &ewswire.RecurrenceRange{StartDate: "2026-01-01"}},
	}
	for i, r := range bad {
		if _, err := r.ToEWS(); err == nil {
			t.Errorf("bad recurrence %d converted", i)
		}
	}
	if d, err := ewswire.ParseDate("2026-03-01-08:00"); err != nil || d.Day != 1 || d.Offset != "-08:00" || d.String() != "2026-03-01-08:00" {
		t.Errorf("ParseDate(with offset) = %+v, %v", d, err)
	}
}

func TestCalendarItemMeaningChecks(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	bad := []ewswire.CalendarItem{
		{Start: &ewswire.DateTime{Time: start}, End: &ewswire.DateTime{Time: start.Add(-time.Minute)}},
		{LegacyFreeBusyStatus: "Away"},
		{Sensitivity: "Secret"},
		{CalendarItemType: "Series"},
		{MyResponseType: "Maybe"},
	}
	for i, c := range bad {
		if _, err := c.ToEWS(); err == nil {
			t.Errorf("bad item %d converted", i)
		}
	}
	good := ews.CalendarItem{Subject: "x", Start: start, End: start.Add(time.Hour), IsAllDayEvent: true, StartTimeZone: "W. Europe Standard Time"}
	if _, err := ewswire.CalendarItemForCreate(good); err != nil {
		t.Errorf("CalendarItemForCreate(good) = %v", err)
	}
	for i, c := range []ews.CalendarItem{
		{Subject: "no times"},
		{Start: start, End: start.Add(-time.Hour)},
		{Start: start, End: start.Add(time.Hour), IsAllDayEvent: true},
		{Start: start, End: start.Add(time.Hour), Sensitivity: "Secret"},
		{Start: start, End: start.Add(time.Hour), Recurrence: &ews.Recurrence{}},
	} {
		if _, err := ewswire.CalendarItemForCreate(c); err == nil {
			t.Errorf("CalendarItemForCreate(bad %d) = nil error", i)
		}
	}
	// Server direction: every property survives encode → decode → convert.
	full := ews.CalendarItem{ItemId: ews.ItemId{Id: "i", ChangeKey: "k"}, Subject: "S", Sensitivity: ews.SensitivityPrivate, Categories: []string{"A", "B"},
		UID: "u", RecurrenceId: start, Start: start, End: start.Add(time.Hour), IsAllDayEvent: false, LegacyFreeBusyStatus: ews.FreeBusyNoData,
		Location: "L", IsMeeting: true, IsCancelled: true, CalendarItemType: ews.ItemTypeException, MyResponseType: ews.ResponseTentative,
		Organizer: &ews.Mailbox{EmailAddress: "o@x"}, RequiredAttendees: []ews.Attendee{{Mailbox: ews.Mailbox{EmailAddress: "a@x"}, ResponseType: ews.ResponseAccept}},
		AppointmentState: ews.AppointmentMeeting | ews.AppointmentCancelled, StartTimeZone: "UTC", EndTimeZone: "UTC"}
	resp := &ewswire.GetItemResponse{}
	resp.ResponseMessages.Messages = []ewswire.ItemInfoResponseMessage{{ResponseMessage: ewswire.Success(), Items: *ewswire.ItemsOf([]ews.CalendarItem{full})}}
	b, err := ewswire.Marshal(nil, resp)
	if err != nil {
		t.Fatal(err)
	}
	var back ewswire.GetItemResponse
	if _, err := ewswire.DecodeEnvelope(bytes.NewReader(b), ewswire.DefaultLimits, ewswire.Expect(&back)); err != nil {
		t.Fatal(err)
	}
	items, err := back.ResponseMessages.Messages[0].Items.CalendarItems()
	if err != nil {
		t.Fatal(err)
	}
	got := items[0]
	if got.Subject != "S" || got.Sensitivity != ews.SensitivityPrivate || strings.Join(got.Categories, ",") != "A,B" || !got.RecurrenceId.Equal(start) ||
		got.LegacyFreeBusyStatus != ews.FreeBusyNoData || !got.IsCancelledState() || got.CalendarItemType != ews.ItemTypeException ||
		got.RequiredAttendees[0].ResponseType != ews.ResponseAccept || got.StartTimeZone != "UTC" || got.Organizer.EmailAddress != "o@x" {
		t.Fatalf("round trip = %+v", got)
	}
}

func TestNotificationChecks(t *testing.T) {
	bad := []ewswire.Notification{
		{},
		{SubscriptionId: "s", Events: []ewswire.Event{{Type: "CreatedEvent"}}},
		{SubscriptionId: "s", Events: []ewswire.Event{{Type: "MovedEvent", ItemId: &ewswire.ItemId{Id: "i"}, FolderId: &ewswire.FolderId{Id: "f"}}}},
	}
	for i, n := range bad {
		if _, err := n.ToEWS(); err == nil {
			t.Errorf("bad notification %d converted", i)
		}
	}
	in := ews.Notification{SubscriptionId: "s", PreviousWatermark: "w0", MoreEvents: true, Events: []ews.Event{
		{Type: ews.EventMoved, Watermark: "w1", TimeStamp: time.Unix(1e9, 0).UTC(), ItemId: &ews.ItemId{Id: "new"}, ParentFolderId: &ews.FolderId{Id: "p2"}, OldItemId: &ews.ItemId{Id: "old"}, OldParentFolderId: &ews.FolderId{Id: "p1"}, UnreadCount: -1},
		{Type: ews.EventModified, Watermark: "w2", TimeStamp: time.Unix(1e9, 0).UTC(), FolderId: &ews.FolderId{Id: "f"}, ParentFolderId: &ews.FolderId{Id: "root"}, UnreadCount: 4},
	}}
	resp := &ewswire.GetEventsResponse{}
	resp.ResponseMessages.Messages = []ewswire.GetEventsResponseMessage{{ResponseMessage: ewswire.Success(), Notification: ewswire.NotificationFrom(in)}}
	b, err := ewswire.Marshal(nil, resp)
	if err != nil {
		t.Fatal(err)
	}
	var back ewswire.GetEventsResponse
	if _, err := ewswire.DecodeEnvelope(bytes.NewReader(b), ewswire.DefaultLimits, ewswire.Expect(&back)); err != nil {
		t.Fatal(err)
	}
	w := back.ResponseMessages.Messages[0].Notification
	out, err := w.ToEWS()
	if err != nil || !out.MoreEvents || out.Events[0].OldItemId.Id != "old" || out.Events[0].OldParentFolderId.Id != "p1" || out.Events[1].UnreadCount != 4 || out.LastWatermark() != "w2" {
		t.Fatalf("round trip = %+v, %v", out, err)
	}
}

func TestImpersonationHeader(t *testing.T) {
	for _, sid := range []ews.ConnectingSID{
		ews.ImpersonateSMTP("a@x"),
		{Kind: ews.SIDSmtpAddress, Value: "b@x"},
		{Kind: ews.SIDPrincipalName, Value: "c@corp", Anchor: "c@x"},
		{Kind: ews.SIDSecurityID, Value: "S-1-5-21-9", Anchor: "d@x"},
	} {
		h, err := ewswire.ImpersonationFrom(sid)
		if err != nil {
			t.Fatal(err)
		}
		back, err := h.ToEWS()
		if err != nil || back.Kind != sid.Kind || back.Value != sid.Value {
			t.Errorf("round trip %+v = %+v, %v", sid, back, err)
		}
	}
	if _, err := (&ewswire.ExchangeImpersonation{}).ToEWS(); err == nil {
		t.Error("empty ConnectingSID converted")
	}
	if _, err := (&ewswire.ExchangeImpersonation{ConnectingSID: ewswire.ConnectingSID{SID: "S-1", SmtpAddress: "a@x"}}).ToEWS(); err == nil {
		t.Error("two identifiers converted")
	}
}
