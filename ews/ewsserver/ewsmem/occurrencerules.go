package ewsmem

import (
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// Exchange keeps the occurrences of a series in order: a modified
// occurrence may move anywhere between its neighbours, but not onto or past
// the date of the previous or next occurrence (ErrorOccurrenceCrossingBoundary),
// and no occurrence may last longer than the shortest gap between two
// occurrences (ErrorOccurrenceTimeSpanTooBig).

// maxGapInstances bounds the instances looked at to find the shortest gap
// (patterns repeat well within a year of instances).
const maxGapInstances = 400

// checkSeriesSpan refuses a series whose occurrences would be longer than
// the shortest gap between two of their starts.
func checkSeriesSpan(c *ews.CalendarItem, loc *time.Location) error {
	if c.Recurrence == nil {
		return nil
	}
	gap, ok := shortestGap(c.Recurrence, c.Start, c.End.Sub(c.Start), c.IsAllDayEvent, loc)
	if ok && c.End.Sub(c.Start) > gap {
		return ewsserver.Fail(ews.ErrorOccurrenceTimeSpanTooBig, "The duration of an occurrence is longer than the time between two occurrences of the recurrence.")
	}
	return nil
}

func shortestGap(r *ews.Recurrence, first time.Time, dur time.Duration, allDay bool, loc *time.Location) (time.Duration, bool) {
	var prev time.Time
	gap, found, n := time.Duration(0), false, 0
	_ = ewsserver.Expand(r, first, dur, allDay, loc, func(in ewsserver.Instance) bool {
		if !prev.IsZero() {
			if d := in.Start.Sub(prev); !found || d < gap {
				gap, found = d, true
			}
		}
		prev = in.Start
		n++
		return n < maxGapInstances
	})
	return gap, found
}

// checkOccurrenceMove refuses to make instance index of it start at start
// and end at end when that crosses a neighbour's date (in the series' zone)
// or lasts longer than the shortest gap of the series.
func (mb *mailbox) checkOccurrenceMove(it *item, index int, start, end time.Time) error {
	loc := it.location()
	dur := it.data.End.Sub(it.data.Start)
	if gap, ok := shortestGap(it.data.Recurrence, it.data.Start, dur, it.data.IsAllDayEvent, loc); ok && end.Sub(start) > gap {
		return ewsserver.Fail(ews.ErrorOccurrenceTimeSpanTooBig, "The duration of the occurrence is longer than the time between two occurrences of the recurrence.")
	}
	// The nearest occurrences before and after that still exist, at their
	// effective (possibly modified) start.
	var prev, next time.Time
	_ = ewsserver.Expand(it.data.Recurrence, it.data.Start, dur, it.data.IsAllDayEvent, loc, func(in ewsserver.Instance) bool {
		if in.Index == index || it.deleted[in.Index] {
			return true
		}
		s := in.Start
		if ex := it.exceptions[in.Index]; ex != nil {
			s = ex.data.Start
		}
		if in.Index < index {
			prev = s
			return true
		}
		next = s
		return false
	})
	day := func(t time.Time) time.Time {
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	if !prev.IsZero() && !day(start).After(day(prev)) || !next.IsZero() && !day(start).Before(day(next)) {
		return ewsserver.Fail(ews.ErrorOccurrenceCrossingBoundary, "The occurrence cannot be moved onto or past the date of an adjacent occurrence.")
	}
	return nil
}
