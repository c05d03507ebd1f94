package ewswire

import (
	"fmt"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
)

// Recurrence is t:RecurrenceType: one pattern element and one range
// element (exactly one pointer of each group is set).
type Recurrence struct {
	RelativeYearly      *RelativeYearly  `xml:"http://schemas.microsoft.com/exchange/services/2006/types RelativeYearlyRecurrence,omitempty"`
	AbsoluteYearly      *AbsoluteYearly  `xml:"http://schemas.microsoft.com/exchange/services/2006/types AbsoluteYearlyRecurrence,omitempty"`
	RelativeMonthly     *RelativeMonthly `xml:"http://schemas.microsoft.com/exchange/services/2006/types RelativeMonthlyRecurrence,omitempty"`
	AbsoluteMonthly     *AbsoluteMonthly `xml:"http://schemas.microsoft.com/exchange/services/2006/types AbsoluteMonthlyRecurrence,omitempty"`
	Weekly              *Weekly          `xml:"http://schemas.microsoft.com/exchange/services/2006/types WeeklyRecurrence,omitempty"`
	Daily               *IntervalPattern `xml:"http://schemas.microsoft.com/exchange/services/2006/types DailyRecurrence,omitempty"`
	DailyRegeneration   *IntervalPattern `xml:"http://schemas.microsoft.com/exchange/services/2006/types DailyRegeneration,omitempty"`
	WeeklyRegeneration  *IntervalPattern `xml:"http://schemas.microsoft.com/exchange/services/2006/types WeeklyRegeneration,omitempty"`
	MonthlyRegeneration *IntervalPattern `xml:"http://schemas.microsoft.com/exchange/services/2006/types MonthlyRegeneration,omitempty"`
	YearlyRegeneration  *IntervalPattern `xml:"http://schemas.microsoft.com/exchange/services/2006/types YearlyRegeneration,omitempty"`
	NoEnd               *RecurrenceRange `xml:"http://schemas.microsoft.com/exchange/services/2006/types NoEndRecurrence,omitempty"`
	EndDate             *EndDateRange    `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndDateRecurrence,omitempty"`
	Numbered            *NumberedRange   `xml:"http://schemas.microsoft.com/exchange/services/2006/types NumberedRecurrence,omitempty"`
}

// RelativeYearly is t:RelativeYearlyRecurrencePatternType.
type RelativeYearly struct {
	DaysOfWeek     string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DaysOfWeek"`
	DayOfWeekIndex string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfWeekIndex"`
	Month          string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Month"`
}

// AbsoluteYearly is t:AbsoluteYearlyRecurrencePatternType.
type AbsoluteYearly struct {
	DayOfMonth int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfMonth"`
	Month      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Month"`
}

// RelativeMonthly is t:RelativeMonthlyRecurrencePatternType.
type RelativeMonthly struct {
	Interval       int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Interval"`
	DaysOfWeek     string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DaysOfWeek"`
	DayOfWeekIndex string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfWeekIndex"`
}

// AbsoluteMonthly is t:AbsoluteMonthlyRecurrencePatternType.
type AbsoluteMonthly struct {
	Interval   int `xml:"http://schemas.microsoft.com/exchange/services/2006/types Interval"`
	DayOfMonth int `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfMonth"`
}

// Weekly is t:WeeklyRecurrencePatternType.
type Weekly struct {
	Interval       int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Interval"`
	DaysOfWeek     string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DaysOfWeek"`
	FirstDayOfWeek string `xml:"http://schemas.microsoft.com/exchange/services/2006/types FirstDayOfWeek,omitempty"`
}

// IntervalPattern is t:DailyRecurrencePatternType and the regeneration
// patterns (only an Interval).
type IntervalPattern struct {
	Interval int `xml:"http://schemas.microsoft.com/exchange/services/2006/types Interval"`
}

// RecurrenceRange is t:NoEndRecurrenceRangeType.
type RecurrenceRange struct {
	StartDate string `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartDate"`
}

// EndDateRange is t:EndDateRecurrenceRangeType.
type EndDateRange struct {
	StartDate string `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartDate"`
	EndDate   string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndDate"`
}

// NumberedRange is t:NumberedRecurrenceRangeType.
type NumberedRange struct {
	StartDate           string `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartDate"`
	NumberOfOccurrences int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types NumberOfOccurrences"`
}

func parseMonth(s string) (time.Month, error) {
	for m := time.January; m <= time.December; m++ {
		if m.String() == strings.TrimSpace(s) {
			return m, nil
		}
	}
	return 0, fmt.Errorf("ewswire: unknown month %q", s)
}

func parseDays(s string) []ews.DayOfWeek {
	var out []ews.DayOfWeek
	for _, f := range strings.Fields(s) {
		out = append(out, ews.DayOfWeek(f))
	}
	return out
}

func joinDays(days []ews.DayOfWeek) string {
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = string(d)
	}
	return strings.Join(parts, " ")
}

// ToEWS converts and validates the recurrence.
func (r *Recurrence) ToEWS() (ews.Recurrence, error) {
	var out ews.Recurrence
	p := &out.Pattern
	patterns := 0
	var err error
	if x := r.RelativeYearly; x != nil {
		patterns++
		p.Kind, p.DaysOfWeek, p.DayOfWeekIndex = ews.PatternRelativeYearly, parseDays(x.DaysOfWeek), ews.DayOfWeekIndex(x.DayOfWeekIndex)
		p.Month, err = parseMonth(x.Month)
	}
	if x := r.AbsoluteYearly; x != nil {
		patterns++
		p.Kind, p.DayOfMonth = ews.PatternAbsoluteYearly, x.DayOfMonth
		p.Month, err = parseMonth(x.Month)
	}
	if x := r.RelativeMonthly; x != nil {
		patterns++
		p.Kind, p.Interval, p.DaysOfWeek, p.DayOfWeekIndex = ews.PatternRelativeMonthly, x.Interval, parseDays(x.DaysOfWeek), ews.DayOfWeekIndex(x.DayOfWeekIndex)
	}
	if x := r.AbsoluteMonthly; x != nil {
		patterns++
		p.Kind, p.Interval, p.DayOfMonth = ews.PatternAbsoluteMonthly, x.Interval, x.DayOfMonth
	}
	if x := r.Weekly; x != nil {
		patterns++
		p.Kind, p.Interval, p.DaysOfWeek, p.FirstDayOfWeek = ews.PatternWeekly, x.Interval, parseDays(x.DaysOfWeek), ews.DayOfWeek(x.FirstDayOfWeek)
	}
	for kind, x := range map[ews.PatternKind]*IntervalPattern{ews.PatternDaily: r.Daily, ews.PatternDailyRegeneration: r.DailyRegeneration,
		ews.PatternWeeklyRegeneration: r.WeeklyRegeneration, ews.PatternMonthlyRegeneration: r.MonthlyRegeneration, ews.PatternYearlyRegeneration: r.YearlyRegeneration} {
		if x != nil {
			patterns++
			p.Kind, p.Interval = kind, x.Interval
		}
	}
	if err != nil {
		return out, err
	}
	if patterns != 1 {
		return out, fmt.Errorf("ewswire: recurrence must have exactly one pattern, has %d", patterns)
	}
	g := &out.Range
	ranges := 0
	if x := r.NoEnd; x != nil {
		ranges++
		g.Kind = ews.RangeNoEnd
		g.StartDate, err = ParseDate(x.StartDate)
	}
	if x := r.EndDate; x != nil {
		ranges++
		g.Kind = ews.RangeEndDate
		if g.StartDate, err = ParseDate(x.StartDate); err == nil {
			g.EndDate, err = ParseDate(x.EndDate)
		}
	}
	if x := r.Numbered; x != nil {
		ranges++
		g.Kind, g.NumberOfOccurrences = ews.RangeNumbered, x.NumberOfOccurrences
		g.StartDate, err = ParseDate(x.StartDate)
	}
	if err != nil {
		return out, err
	}
	if ranges != 1 {
		return out, fmt.Errorf("ewswire: recurrence must have exactly one range, has %d", ranges)
	}
	if err := out.Validate(); err != nil {
		return out, err
	}
	return out, nil
}

// RecurrenceFrom validates and converts an ews recurrence.
func RecurrenceFrom(r ews.Recurrence) (*Recurrence, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	w := &Recurrence{}
	p := r.Pattern
	switch p.Kind {
	case ews.PatternRelativeYearly:
		w.RelativeYearly = &RelativeYearly{DaysOfWeek: joinDays(p.DaysOfWeek), DayOfWeekIndex: string(p.DayOfWeekIndex), Month: p.Month.String()}
	case ews.PatternAbsoluteYearly:
		w.AbsoluteYearly = &AbsoluteYearly{DayOfMonth: p.DayOfMonth, Month: p.Month.String()}
	case ews.PatternRelativeMonthly:
		w.RelativeMonthly = &RelativeMonthly{Interval: p.Interval, DaysOfWeek: joinDays(p.DaysOfWeek), DayOfWeekIndex: string(p.DayOfWeekIndex)}
	case ews.PatternAbsoluteMonthly:
		w.AbsoluteMonthly = &AbsoluteMonthly{Interval: p.Interval, DayOfMonth: p.DayOfMonth}
	case ews.PatternWeekly:
		w.Weekly = &Weekly{Interval: p.Interval, DaysOfWeek: joinDays(p.DaysOfWeek), FirstDayOfWeek: string(p.FirstDayOfWeek)}
	case ews.PatternDaily:
		w.Daily = &IntervalPattern{Interval: p.Interval}
	case ews.PatternDailyRegeneration:
		w.DailyRegeneration = &IntervalPattern{Interval: p.Interval}
	case ews.PatternWeeklyRegeneration:
		w.WeeklyRegeneration = &IntervalPattern{Interval: p.Interval}
	case ews.PatternMonthlyRegeneration:
		w.MonthlyRegeneration = &IntervalPattern{Interval: p.Interval}
	case ews.PatternYearlyRegeneration:
		w.YearlyRegeneration = &IntervalPattern{Interval: p.Interval}
	}
	g := r.Range
	switch g.Kind {
	case ews.RangeNoEnd:
		w.NoEnd = &RecurrenceRange{StartDate: g.StartDate.String()}
	case ews.RangeEndDate:
		w.EndDate = &EndDateRange{StartDate: g.StartDate.String(), EndDate: g.EndDate.String()}
	case ews.RangeNumbered:
		w.Numbered = &NumberedRange{StartDate: g.StartDate.String(), NumberOfOccurrences: g.NumberOfOccurrences}
	}
	return w, nil
}
