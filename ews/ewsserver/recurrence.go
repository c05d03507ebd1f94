package ewsserver

import (
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/ews"
)

// weekdayByName maps EWS weekday names to time.Weekday.
var weekdayByName = map[ews.DayOfWeek]time.Weekday{
	ews.Sunday: time.Sunday, ews.Monday: time.Monday, ews.Tuesday: time.Tuesday, ews.Wednesday: time.Wednesday,
	ews.Thursday: time.Thursday, ews.Friday: time.Friday, ews.Saturday: time.Saturday,
}

// ValidateRecurrence checks a recurrence for what Exchange rejects and what
// the simulator can expand (the regeneration patterns of tasks are not
// calendar patterns).
func ValidateRecurrence(r *ews.Recurrence) error {
	if r == nil {
		return errors.New("ewsserver: nil recurrence")
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("ewsserver: %w", err)
	}
	switch r.Pattern.Kind {
	case ews.PatternDaily, ews.PatternWeekly, ews.PatternAbsoluteMonthly, ews.PatternRelativeMonthly, ews.PatternAbsoluteYearly, ews.PatternRelativeYearly:
	default:
		return fmt.Errorf("ewsserver: pattern %s is not valid for calendar items", r.Pattern.Kind)
	}
	if r.Pattern.Kind == ews.PatternWeekly {
		for _, d := range r.Pattern.DaysOfWeek {
			if _, ok := weekdayByName[d]; !ok {
				return fmt.Errorf("ewsserver: weekly recurrence day %q", d)
			}
		}
	}
	return nil
}

var dayIndex = map[ews.DayOfWeekIndex]int{"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}

// daySelector returns the set of weekdays a DayOfWeekType value matches.
func daySelector(s ews.DayOfWeek) ([7]bool, error) {
	var set [7]bool
	switch s {
	case ews.AnyDay:
		for i := range set {
			set[i] = true
		}
	case ews.Weekday:
		for d := time.Monday; d <= time.Friday; d++ {
			set[d] = true
		}
	case ews.WeekendDay:
		set[time.Saturday], set[time.Sunday] = true, true
	default:
		d, ok := weekdayByName[s]
		if !ok {
			return set, fmt.Errorf("ewsserver: day of week %q", s)
		}
		set[d] = true
	}
	return set, nil
}

// Instance is one generated occurrence of a recurring series.
type Instance struct {
	// Index is the 1-based InstanceIndex, counted from the first occurrence
	// of the series (deleted occurrences keep their index).
	Index int
	// Start and End are the instant the occurrence starts and ends.
	Start, End time.Time
}

// maxInstances bounds the expansion of a series without end.
const maxInstances = 200000

// Expand calls fn for each instance of a series, in order, until fn returns
// false or the series ends. first is the master's start, duration its
// length, loc the series time zone (StartTimeZone) in which the pattern is
// evaluated: the wall-clock start time is kept across daylight-saving
// changes. All-day instances run from local midnight for the master's
// number of days.
func Expand(r *ews.Recurrence, first time.Time, duration time.Duration, allDay bool, loc *time.Location, fn func(Instance) bool) error {
	if err := ValidateRecurrence(r); err != nil {
		return err
	}
	if loc == nil {
		loc = time.UTC
	}
	p, rg := r.Pattern, r.Range
	local := first.In(loc)
	hh, mm, ss := local.Clock()
	days := int((duration + 12*time.Hour) / (24 * time.Hour))
	startDate := date{rg.StartDate.Year, rg.StartDate.Month, rg.StartDate.Day}
	endDate := date{rg.EndDate.Year, rg.EndDate.Month, rg.EndDate.Day}
	hasEnd := rg.Kind == ews.RangeEndDate
	count := 0
	if rg.Kind == ews.RangeNumbered {
		count = rg.NumberOfOccurrences
	}
	index := 0
	emit := func(d date) bool {
		if d.before(startDate) {
			return true
		}
		if hasEnd && endDate.before(d) {
			return false
		}
		index++
		if count > 0 && index > count || index > maxInstances {
			return false
		}
		start := time.Date(d.y, d.m, d.d, hh, mm, ss, 0, loc)
		end := start.Add(duration)
		if allDay {
			start = time.Date(d.y, d.m, d.d, 0, 0, 0, 0, loc)
			end = time.Date(d.y, d.m, d.d+max(days, 1), 0, 0, 0, 0, loc)
		}
		return fn(Instance{Index: index, Start: start, End: end})
	}
	interval := max(p.Interval, 1)
	switch p.Kind {
	case ews.PatternDaily:
		for d := startDate; ; d = d.addDays(interval) {
			if !emit(d) {
				return nil
			}
		}
	case ews.PatternWeekly:
		var set [7]bool
		for _, n := range p.DaysOfWeek {
			set[weekdayByName[n]] = true
		}
		firstDay := time.Sunday
		if d, ok := weekdayByName[p.FirstDayOfWeek]; ok {
			firstDay = d
		}
		weekStart := startDate.addDays(-((int(startDate.weekday()) - int(firstDay) + 7) % 7))
		for w := weekStart; ; w = w.addDays(7 * interval) {
			for i := 0; i < 7; i++ {
				d := w.addDays(i)
				if set[d.weekday()] && !emit(d) {
					return nil
				}
			}
		}
	default:
		yearly := p.Kind == ews.PatternAbsoluteYearly || p.Kind == ews.PatternRelativeYearly
		absolute := p.Kind == ews.PatternAbsoluteMonthly || p.Kind == ews.PatternAbsoluteYearly
		step := interval
		y, m := startDate.y, startDate.m
		if yearly {
			step = 12
			m = p.Month
			if m < startDate.m {
				y++
			}
		}
		for {
			var d date
			if absolute {
				d = date{y, m, min(p.DayOfMonth, daysIn(y, m))}
			} else {
				d = relativeDay(y, m, p.DaysOfWeek[0], p.DayOfWeekIndex)
			}
			if !emit(d) {
				return nil
			}
			m += time.Month(step)
			for m > 12 {
				m -= 12
				y++
			}
		}
	}
}

// InstancesBetween returns the instances overlapping [from, to).
func InstancesBetween(r *ews.Recurrence, first time.Time, duration time.Duration, allDay bool, loc *time.Location, from, to time.Time) ([]Instance, error) {
	var out []Instance
	err := Expand(r, first, duration, allDay, loc, func(in Instance) bool {
		if !in.Start.Before(to) {
			return false
		}
		if Overlaps(in.Start, in.End, from, to) {
			out = append(out, in)
		}
		return true
	})
	return out, err
}

// InstanceAt returns the instance with the given 1-based index.
func InstanceAt(r *ews.Recurrence, first time.Time, duration time.Duration, allDay bool, loc *time.Location, index int) (Instance, bool, error) {
	var found Instance
	ok := false
	err := Expand(r, first, duration, allDay, loc, func(in Instance) bool {
		if in.Index == index {
			found, ok = in, true
			return false
		}
		return in.Index < index
	})
	return found, ok, err
}

// LastInstance returns the final instance of a series that ends, ok=false for
// a series without end.
func LastInstance(r *ews.Recurrence, first time.Time, duration time.Duration, allDay bool, loc *time.Location) (Instance, bool, error) {
	if r.Range.Kind == ews.RangeNoEnd {
		return Instance{}, false, nil
	}
	var last Instance
	err := Expand(r, first, duration, allDay, loc, func(in Instance) bool {
		last = in
		return true
	})
	return last, last.Index > 0, err
}

func relativeDay(y int, m time.Month, selector ews.DayOfWeek, index ews.DayOfWeekIndex) date {
	set, _ := daySelector(selector)
	n := dayIndex[index]
	last := daysIn(y, m)
	if n > 0 {
		count := 0
		for d := 1; d <= last; d++ {
			if set[time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()] {
				count++
				if count == n {
					return date{y, m, d}
				}
			}
		}
		return date{y, m, last}
	}
	for d := last; d >= 1; d-- {
		if set[time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()] {
			return date{y, m, d}
		}
	}
	return date{y, m, last}
}

// date is a civil date without zone.
type date struct {
	y int
	m time.Month
	d int
}

func (d date) addDays(n int) date {
	t := time.Date(d.y, d.m, d.d+n, 12, 0, 0, 0, time.UTC)
	return date{t.Year(), t.Month(), t.Day()}
}

func (d date) weekday() time.Weekday {
	return time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC).Weekday()
}

func (d date) before(o date) bool {
	if d.y != o.y {
		return d.y < o.y
	}
	if d.m != o.m {
		return d.m < o.m
	}
	return d.d < o.d
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}
