package ewsserver_test

import (
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

func mustZone(t *testing.T, id string) *time.Location {
	t.Helper()
	loc, err := ewsserver.LoadWindowsZone(id)
	if err != nil {
		t.Fatalf("LoadWindowsZone(%q) = %v", id, err)
	}
	return loc
}

func date(y int, m time.Month, d int) ews.Date { return ews.Date{Year: y, Month: m, Day: d} }

func TestExpandPatterns(t *testing.T) {
	berlin := mustZone(t, "W. Europe Standard Time")
	tests := []struct {
		name   string
		rec    ews.Recurrence
		first  time.Time
		dur    time.Duration
		allDay bool
		want   []string // local start times "2006-01-02 15:04"
	}{
		{
			name:  "daily every 2 days numbered",
			rec:   ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 2}, Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: date(2024, 3, 29), NumberOfOccurrences: 3}},
			first: time.Date(2024, 3, 29, 9, 0, 0, 0, berlin), dur: time.Hour,
			// crosses the DST change on 31 March: wall clock stays 09:00
			want: []string{"2024-03-29 09:00", "2024-03-31 09:00", "2024-04-02 09:00"},
		},
		{
			name:  "weekly Mon+Thu every 2 weeks until end date",
			rec:   ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 2, DaysOfWeek: []ews.DayOfWeek{ews.Monday, ews.Thursday}, FirstDayOfWeek: ews.Monday}, Range: ews.RecurrenceRange{Kind: ews.RangeEndDate, StartDate: date(2024, 1, 3), EndDate: date(2024, 1, 22)}},
			first: time.Date(2024, 1, 4, 14, 0, 0, 0, berlin), dur: 30 * time.Minute,
			want: []string{"2024-01-04 14:00", "2024-01-15 14:00", "2024-01-18 14:00"},
		},
		{
			name:  "absolute monthly day 31 uses last day of short months",
			rec:   ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternAbsoluteMonthly, Interval: 1, DayOfMonth: 31}, Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: date(2024, 1, 1), NumberOfOccurrences: 3}},
			first: time.Date(2024, 1, 31, 10, 0, 0, 0, berlin), dur: time.Hour,
			want: []string{"2024-01-31 10:00", "2024-02-29 10:00", "2024-03-31 10:00"},
		},
		{
			name:  "relative monthly last weekday",
			rec:   ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternRelativeMonthly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Weekday}, DayOfWeekIndex: ews.IndexLast}, Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: date(2024, 8, 1), NumberOfOccurrences: 3}},
			first: time.Date(2024, 8, 30, 16, 0, 0, 0, berlin), dur: time.Hour,
			want: []string{"2024-08-30 16:00", "2024-09-30 16:00", "2024-10-31 16:00"},
		},
		{
			name:  "relative monthly second Tuesday every 2 months",
			rec:   ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternRelativeMonthly, Interval: 2, DaysOfWeek: []ews.DayOfWeek{ews.Tuesday}, DayOfWeekIndex: ews.IndexSecond}, Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: date(2024, 1, 1), NumberOfOccurrences: 3}},
			first: time.Date(2024, 1, 9, 8, 0, 0, 0, berlin), dur: time.Hour,
			want: []string{"2024-01-09 08:00", "2024-03-12 08:00", "2024-05-14 08:00"},
		},
		{
			name:  "absolute yearly Feb 29 in non-leap years",
			rec:   ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternAbsoluteYearly, DayOfMonth: 29, Month: time.February}, Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: date(2024, 1, 1), NumberOfOccurrences: 2}},
			first: time.Date(2024, 2, 29, 0, 0, 0, 0, berlin), dur: 24 * time.Hour, allDay: true,
			want: []string{"2024-02-29 00:00", "2025-02-28 00:00"},
		},
		{
			name:  "relative yearly first Sunday of November, range start after month",
			rec:   ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternRelativeYearly, DaysOfWeek: []ews.DayOfWeek{ews.Sunday}, DayOfWeekIndex: ews.IndexFirst, Month: time.November}, Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: date(2024, 12, 1), NumberOfOccurrences: 2}},
			first: time.Date(2025, 11, 2, 12, 0, 0, 0, berlin), dur: time.Hour,
			want: []string{"2025-11-02 12:00", "2026-11-01 12:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := ewsserver.Expand(&tt.rec, tt.first, tt.dur, tt.allDay, berlin, func(in ewsserver.Instance) bool {
				got = append(got, in.Start.In(berlin).Format("2006-01-02 15:04"))
				if in.End.Sub(in.Start) != tt.dur && !tt.allDay {
					t.Errorf("instance %d lasts %s, want %s", in.Index, in.End.Sub(in.Start), tt.dur)
				}
				return len(got) < 10
			})
			if err != nil {
				t.Fatalf("Expand() = %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Expand() = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("instance %d = %s, want %s", i+1, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestExpandDSTKeepsWallClockInUTC(t *testing.T) {
	ny := mustZone(t, "Eastern Standard Time")
	rec := ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Friday}},
		Range: ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: date(2024, 3, 1)}}
	got, err := ewsserver.InstancesBetween(&rec, time.Date(2024, 3, 1, 9, 0, 0, 0, ny), time.Hour, false, ny,
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 16, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2024-03-01T14:00:00Z", "2024-03-08T14:00:00Z", "2024-03-15T13:00:00Z"}
	if len(got) != len(want) {
		t.Fatalf("InstancesBetween() = %d instances, want %d", len(got), len(want))
	}
	for i, in := range got {
		if s := in.Start.UTC().Format(time.RFC3339); s != want[i] {
			t.Errorf("instance %d starts %s, want %s", i+1, s, want[i])
		}
		if in.Index != i+1 {
			t.Errorf("instance %d has index %d", i+1, in.Index)
		}
	}
}

func TestLimitCalendarView(t *testing.T) {
	tests := []struct {
		total, max int
		given      bool
		want       ewsserver.ViewPage
	}{
		{5, 0, false, ewsserver.ViewPage{N: 5, Total: 5, IncludesLast: true}},
		{1001, 0, false, ewsserver.ViewPage{Code: ews.ErrorExceededFindCountLimit, Total: 1001}},
		{1001, 1000, true, ewsserver.ViewPage{N: 1000, Total: 1001, IncludesLast: false}},
		{3, 10, true, ewsserver.ViewPage{N: 3, Total: 3, IncludesLast: true}},
		{3, 0, true, ewsserver.ViewPage{Code: ews.ErrorInvalidPagingMaxRows}},
	}
	for _, tt := range tests {
		if got := ewsserver.LimitCalendarView(tt.total, tt.max, tt.given, 1000); got != tt.want {
			t.Errorf("LimitCalendarView(%d, %d, %v) = %+v, want %+v", tt.total, tt.max, tt.given, got, tt.want)
		}
	}
}

func TestCalendarViewWindowAndOverlap(t *testing.T) {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	if code := ewsserver.CheckCalendarViewWindow(base, base.Add(-time.Hour)); code != ews.ErrorCalendarEndDateIsEarlierThanStartDate {
		t.Errorf("end before start = %q", code)
	}
	if code := ewsserver.CheckCalendarViewWindow(base, base.AddDate(2, 0, 2)); code != ews.ErrorCalendarViewRangeTooBig {
		t.Errorf("range > 2 years = %q", code)
	}
	from, to := base, base.Add(24*time.Hour)
	overlaps := []struct {
		s, e time.Time
		want bool
	}{
		{base.Add(-time.Hour), base, true},                    // ends at window start (§5.1: only ending before is out)
		{base.Add(-time.Hour), base.Add(-time.Second), false}, // ends before window start
		{base.Add(-time.Hour), base.Add(time.Minute), true},   // straddles start
		{to, to.Add(time.Hour), false},                        // starts at window end
		{base.Add(time.Hour), base.Add(time.Hour), true},      // zero length inside
		{base.Add(-time.Hour), to.Add(time.Hour), true},       // covers window
	}
	for i, o := range overlaps {
		if got := ewsserver.Overlaps(o.s, o.e, from, to); got != o.want {
			t.Errorf("case %d: Overlaps = %v, want %v", i, got, o.want)
		}
	}
}
