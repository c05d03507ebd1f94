package engine

import (
	"time"

	"github.com/calsync/calsync/calendar"
)

// windowAt returns the rolling window for instant now in zone loc: from
// local midnight DaysBefore days ago to local midnight DaysAfter+1 days
// ahead (so the DaysAfter-th day is covered completely), in UTC.
func (c WindowConfig) windowAt(now time.Time, loc *time.Location) calendar.Window {
	if loc == nil {
		loc = c.DefaultTimeZone
	}
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	y, m, d := local.Date()
	return calendar.Window{
		Start: time.Date(y, m, d-c.DaysBefore, 0, 0, 0, 0, loc).UTC(),
		End:   time.Date(y, m, d+c.DaysAfter+1, 0, 0, 0, 0, loc).UTC(),
	}
}

// nextRoll returns the next local midnight after now in loc: the instant
// the window moves forward.
func nextRoll(now time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	y, m, d := local.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC()
}
