package ewsserver

import (
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
)

// legacyZone evaluates a GetUserAvailability t:TimeZone (Bias plus
// standard and daylight transition rules, biases in minutes, UTC = local +
// bias).
type legacyZone struct{ tz ews.LegacyTimeZone }

// offset returns the UTC offset (local - UTC) in effect at the local wall
// time (year from wall).
func (z legacyZone) offsetAtLocal(wall time.Time) time.Duration {
	std := -time.Duration(z.tz.Bias+z.tz.Standard.Bias) * time.Minute
	if z.tz.Daylight.Month == 0 || z.tz.Standard.Month == 0 {
		return std
	}
	dst := -time.Duration(z.tz.Bias+z.tz.Daylight.Bias) * time.Minute
	y := wall.Year()
	dstStart := transition(y, z.tz.Daylight)
	dstEnd := transition(y, z.tz.Standard)
	in := false
	if dstStart.Before(dstEnd) {
		in = !wall.Before(dstStart) && wall.Before(dstEnd)
	} else { // southern hemisphere
		in = !wall.Before(dstStart) || wall.Before(dstEnd)
	}
	if in {
		return dst
	}
	return std
}

// toLocal converts an instant to the zone's wall clock (returned in UTC
// location, to be written without zone).
func (z legacyZone) toLocal(t time.Time) time.Time {
	u := t.UTC()
	off := z.offsetAtLocal(u.Add(-time.Duration(z.tz.Bias) * time.Minute))
	return u.Add(off)
}

// toUTC converts a wall-clock time of the zone to an instant.
func (z legacyZone) toUTC(wall time.Time) time.Time {
	w := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, time.UTC)
	return w.Add(-z.offsetAtLocal(w))
}

// transition computes the wall-clock instant of a rule in year y: the
// DayOrder-th (5 = last) DayOfWeek of Month at Time.
func transition(y int, c ews.TimeChange) time.Time {
	wd, ok := weekdayByName[c.DayOfWeek]
	if !ok {
		wd = time.Sunday
	}
	var hh, mm, ss int
	parts := strings.Split(c.Time, ":")
	if len(parts) >= 2 {
		hh, _ = strconv.Atoi(parts[0])
		mm, _ = strconv.Atoi(parts[1])
		if len(parts) == 3 {
			ss, _ = strconv.Atoi(parts[2])
		}
	}
	m := time.Month(c.Month)
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	day := 1 + (int(wd)-int(first.Weekday())+7)%7
	day += 7 * (max(c.DayOrder, 1) - 1)
	for day > daysIn(y, m) {
		day -= 7
	}
	return time.Date(y, m, day, hh, mm, ss, 0, time.UTC)
}
