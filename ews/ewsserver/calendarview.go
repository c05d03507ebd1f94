package ewsserver

import (
	"sort"
	"time"

	"github.com/calsync/calsync/ews"
)

// Overlaps reports whether an item [start, end) is in the CalendarView
// window [from, to) as Exchange decides it (ews-facts §5.1): only items
// that end before the window start, or start at or after the window end,
// are excluded. An item ending exactly at the window start is in the view.
func Overlaps(start, end, from, to time.Time) bool {
	return start.Before(to) && !end.Before(from)
}

// Intersects reports whether [start, end) and [from, to) share time: what
// free/busy slots count (an item ending at a slot's start leaves it free).
func Intersects(start, end, from, to time.Time) bool {
	return start.Before(to) && end.After(from)
}

// CheckCalendarViewWindow validates (windows longer than two calendar years
// fail with ErrorCalendarViewRangeTooBig) a CalendarView's StartDate/EndDate and
// returns the response code Exchange answers with, or "" when valid.
func CheckCalendarViewWindow(from, to time.Time) ews.ResponseCode {
	if to.Before(from) {
		return ews.ErrorCalendarEndDateIsEarlierThanStartDate
	}
	if to.After(from.AddDate(2, 0, 0)) {
		return ews.ErrorCalendarViewRangeTooBig
	}
	return ""
}

// ViewPage is the outcome of applying CalendarView limits to a list of
// matching entries.
type ViewPage struct {
	// N is how many entries to return (a prefix of the sorted list).
	N int
	// Total is TotalItemsInView (all matches).
	Total int
	// IncludesLast is IncludesLastItemInRange.
	IncludesLast bool
	// Code is a response code when the view fails (ErrorExceededFindCountLimit,
	// ErrorInvalidPagingMaxRows), "" otherwise.
	Code ews.ResponseCode
}

// LimitCalendarView applies MaxEntriesReturned (0 = not given) and the
// EWSFindCountLimit (findLimit ≤ 0 = none) to total matches, as Exchange
// does: no paging, a truncated prefix with IncludesLastItemInRange=false, or
// ErrorExceededFindCountLimit when no MaxEntriesReturned was given and the
// view holds more than the limit.
func LimitCalendarView(total, maxEntries int, maxGiven bool, findLimit int) ViewPage {
	if maxGiven && maxEntries <= 0 {
		return ViewPage{Code: ews.ErrorInvalidPagingMaxRows}
	}
	if !maxGiven {
		if findLimit > 0 && total > findLimit {
			return ViewPage{Code: ews.ErrorExceededFindCountLimit, Total: total}
		}
		return ViewPage{N: total, Total: total, IncludesLast: true}
	}
	if total > maxEntries {
		return ViewPage{N: maxEntries, Total: total, IncludesLast: false}
	}
	return ViewPage{N: total, Total: total, IncludesLast: true}
}

// SortByStart sorts entries by start, then end, then key, the order
// CalendarView returns them in.
func SortByStart[T any](entries []T, start, end func(T) time.Time, key func(T) string) {
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if !start(a).Equal(start(b)) {
			return start(a).Before(start(b))
		}
		if !end(a).Equal(end(b)) {
			return end(a).Before(end(b))
		}
		return key(a) < key(b)
	})
}
