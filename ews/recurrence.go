package ews

import (
	"fmt"
	"time"
)

// PatternKind names the recurrence pattern element (t:RecurrenceType choice).
type PatternKind string

// PatternKind values, named like the XSD elements.
const (
	PatternDaily               PatternKind = "DailyRecurrence"
	PatternWeekly              PatternKind = "WeeklyRecurrence"
	PatternAbsoluteMonthly     PatternKind = "AbsoluteMonthlyRecurrence"
	PatternRelativeMonthly     PatternKind = "RelativeMonthlyRecurrence"
	PatternAbsoluteYearly      PatternKind = "AbsoluteYearlyRecurrence"
	PatternRelativeYearly      PatternKind = "RelativeYearlyRecurrence"
	PatternDailyRegeneration   PatternKind = "DailyRegeneration"
	PatternWeeklyRegeneration  PatternKind = "WeeklyRegeneration"
	PatternMonthlyRegeneration PatternKind = "MonthlyRegeneration"
	PatternYearlyRegeneration  PatternKind = "YearlyRegeneration"
)

// DayOfWeek is t:DayOfWeekType, including the grouped values Day, Weekday and
// WeekendDay.
type DayOfWeek string

// DayOfWeek values.
const (
	Sunday     DayOfWeek = "Sunday"
	Monday     DayOfWeek = "Monday"
	Tuesday    DayOfWeek = "Tuesday"
	Wednesday  DayOfWeek = "Wednesday"
	Thursday   DayOfWeek = "Thursday"
	Friday     DayOfWeek = "Friday"
	Saturday   DayOfWeek = "Saturday"
	AnyDay     DayOfWeek = "Day"
	Weekday    DayOfWeek = "Weekday"
	WeekendDay DayOfWeek = "WeekendDay"
)

// Valid reports whether d is one of the schema's values.
func (d DayOfWeek) Valid() bool {
	switch d {
	case Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, AnyDay, Weekday, WeekendDay:
		return true
	}
	return false
}

// DayOfWeekIndex is t:DayOfWeekIndexType.
type DayOfWeekIndex string

// DayOfWeekIndex values.
const (
	IndexFirst  DayOfWeekIndex = "First"
	IndexSecond DayOfWeekIndex = "Second"
	IndexThird  DayOfWeekIndex = "Third"
	IndexFourth DayOfWeekIndex = "Fourth"
	IndexLast   DayOfWeekIndex = "Last"
)

// Valid reports whether i is one of the schema's values.
func (i DayOfWeekIndex) Valid() bool {
	switch i {
	case IndexFirst, IndexSecond, IndexThird, IndexFourth, IndexLast:
		return true
	}
	return false
}

// RecurrencePattern is one recurrence pattern. Which fields matter depends on
// Kind:
//
//	Daily, *Regeneration: Interval
//	Weekly:               Interval, DaysOfWeek, FirstDayOfWeek (optional)
//	AbsoluteMonthly:      Interval, DayOfMonth
//	RelativeMonthly:      Interval, DaysOfWeek (one value), DayOfWeekIndex
//	AbsoluteYearly:       DayOfMonth, Month
//	RelativeYearly:       DaysOfWeek (one value), DayOfWeekIndex, Month
type RecurrencePattern struct {
	Kind           PatternKind
	Interval       int
	DaysOfWeek     []DayOfWeek
	FirstDayOfWeek DayOfWeek
	DayOfMonth     int
	DayOfWeekIndex DayOfWeekIndex
	Month          time.Month
}

// Validate checks the fields the pattern kind needs.
func (p RecurrencePattern) Validate() error {
	needInterval := func() error {
		if p.Interval < 1 || p.Interval > 999 {
			return fmt.Errorf("ews: %s interval %d out of range 1..999", p.Kind, p.Interval)
		}
		return nil
	}
	days := func(exactlyOne bool) error {
		if len(p.DaysOfWeek) == 0 || exactlyOne && len(p.DaysOfWeek) != 1 {
			return fmt.Errorf("ews: %s needs %s days of week, has %d", p.Kind, map[bool]string{true: "exactly one of the", false: "one or more"}[exactlyOne], len(p.DaysOfWeek))
		}
		for _, d := range p.DaysOfWeek {
			if !d.Valid() {
				return fmt.Errorf("ews: %s has unknown day of week %q", p.Kind, d)
			}
		}
		return nil
	}
	dom := func() error {
		if p.DayOfMonth < 1 || p.DayOfMonth > 31 {
			return fmt.Errorf("ews: %s day of month %d out of range 1..31", p.Kind, p.DayOfMonth)
		}
		return nil
	}
	month := func() error {
		if p.Month < time.January || p.Month > time.December {
			return fmt.Errorf("ews: %s month %d out of range", p.Kind, p.Month)
		}
		return nil
	}
	index := func() error {
		if !p.DayOfWeekIndex.Valid() {
			return fmt.Errorf("ews: %s has unknown day-of-week index %q", p.Kind, p.DayOfWeekIndex)
		}
		return nil
	}
	switch p.Kind {
	case PatternDaily, PatternDailyRegeneration, PatternWeeklyRegeneration, PatternMonthlyRegeneration, PatternYearlyRegeneration:
		return needInterval()
	case PatternWeekly:
		if err := needInterval(); err != nil {
			return err
		}
		if p.FirstDayOfWeek != "" && !p.FirstDayOfWeek.Valid() {
			return fmt.Errorf("ews: weekly first day of week %q unknown", p.FirstDayOfWeek)
		}
		return days(false)
	case PatternAbsoluteMonthly:
		return firstErr(needInterval(), dom())
	case PatternRelativeMonthly:
		return firstErr(needInterval(), days(true), index())
	case PatternAbsoluteYearly:
		return firstErr(dom(), month())
	case PatternRelativeYearly:
		return firstErr(days(true), index(), month())
	}
	return fmt.Errorf("ews: unknown recurrence pattern %q", p.Kind)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// RangeKind names the recurrence range element.
type RangeKind string

// RangeKind values, named like the XSD elements.
const (
	RangeNoEnd    RangeKind = "NoEndRecurrence"
	RangeEndDate  RangeKind = "EndDateRecurrence"
	RangeNumbered RangeKind = "NumberedRecurrence"
)

// Date is a calendar date without time (xs:date). Exchange may append a zone
// offset ("2024-03-01-08:00"); the offset is informational and kept in
// Offset ("" when absent).
type Date struct {
	Year   int
	Month  time.Month
	Day    int
	Offset string
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// String formats the date as xs:date (with its offset, if any).
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d%s", d.Year, int(d.Month), d.Day, d.Offset)
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// RecurrenceRange is where a series starts and stops.
type RecurrenceRange struct {
	Kind                RangeKind
	StartDate           Date
	EndDate             Date
	NumberOfOccurrences int
}

// Validate checks the fields the range kind needs.
func (r RecurrenceRange) Validate() error {
	if r.StartDate.IsZero() {
		return fmt.Errorf("ews: %s has no start date", r.Kind)
	}
	switch r.Kind {
	case RangeNoEnd:
		return nil
	case RangeEndDate:
		if r.EndDate.IsZero() {
			return fmt.Errorf("ews: %s has no end date", r.Kind)
		}
		s := time.Date(r.StartDate.Year, r.StartDate.Month, r.StartDate.Day, 0, 0, 0, 0, time.UTC)
		e := time.Date(r.EndDate.Year, r.EndDate.Month, r.EndDate.Day, 0, 0, 0, 0, time.UTC)
		if e.Before(s) {
			return fmt.Errorf("ews: recurrence end date %s is before start date %s", r.EndDate, r.StartDate)
		}
		return nil
	case RangeNumbered:
		if r.NumberOfOccurrences < 1 {
			return fmt.Errorf("ews: numbered recurrence needs at least one occurrence, has %d", r.NumberOfOccurrences)
		}
		return nil
	}
	return fmt.Errorf("ews: unknown recurrence range %q", r.Kind)
}

// Recurrence is a pattern plus a range (t:RecurrenceType).
type Recurrence struct {
	Pattern RecurrencePattern
	Range   RecurrenceRange
}

// Validate checks both parts.
func (r Recurrence) Validate() error {
	if err := r.Pattern.Validate(); err != nil {
		return err
	}
	return r.Range.Validate()
}
