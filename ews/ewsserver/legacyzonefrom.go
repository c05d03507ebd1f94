package ewsserver

import (
	"time"

	"github.com/calsync/calsync/ews"
)

// LegacyZone describes loc in year as a t:SerializableTimeZone (the zone
// of GetUserAvailability's WorkingHours): the standard bias and, for zones
// with daylight saving time, the yearly rules of both changes in the local
// time before each change.
func LegacyZone(loc *time.Location, year int) ews.LegacyTimeZone {
	_, janOff := time.Date(year, 1, 1, 12, 0, 0, 0, loc).Zone()
	_, julOff := time.Date(year, 7, 1, 12, 0, 0, 0, loc).Zone()
	stdOff, dstOff := min(janOff, julOff), max(janOff, julOff)
	z := ews.UTCLegacyTimeZone()
	z.Bias = -stdOff / 60
	changes := offsetChanges(loc, year)
	if len(changes) != 2 || janOff == julOff {
		return z
	}
	for _, ch := range changes {
		b := ch.Add(-time.Second).In(loc)
		wall := time.Date(b.Year(), b.Month(), b.Day(), b.Hour(), b.Minute(), b.Second(), 0, time.UTC).Add(time.Second)
		order := (wall.Day()-1)/7 + 1
		if wall.Day()+7 > daysIn(wall.Year(), wall.Month()) {
			order = 5 // the last such weekday of the month
		}
		tc := ews.TimeChange{Time: wall.Format("15:04:05"), DayOrder: order, Month: int(wall.Month()),
			DayOfWeek: ews.DayOfWeek(wall.Weekday().String())}
		if _, off := ch.In(loc).Zone(); off == dstOff {
			tc.Bias = -(dstOff - stdOff) / 60
			z.Daylight = tc
		} else {
			z.Standard = tc
		}
	}
	return z
}
