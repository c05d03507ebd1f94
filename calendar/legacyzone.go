package calendar

import (
	"sync"
	"time"
)

// LegacyRule is one standard/daylight transition of a zone given by bias
// and rule (EWS t:SerializableTimeZone, as in GetUserAvailability's
// working hours): Bias in minutes added to Bias, at local Time on the
// DayOrder-th (5 = last) Weekday of Month.
type LegacyRule struct {
	Bias     int
	Month    time.Month
	DayOrder int
	Weekday  time.Weekday
	// At is the local time of day of the change.
	At time.Duration
}

// LegacyZone is a zone without a name: Bias is minutes west of UTC (UTC =
// local + Bias); Standard and Daylight are its transitions (Month 0: no
// daylight saving time).
type LegacyZone struct {
	Bias               int
	Standard, Daylight LegacyRule
}

// offsetAt returns the zone's offset east of UTC at t.
func (z LegacyZone) offsetAt(t time.Time) time.Duration {
	return z.inYear(t.UTC().Year()).offsetAt(t)
}

// legacyYear is a LegacyZone's offsets and changes in one year, computed
// once: matching a zone compares a year of hours, and computing the
// changes for every hour (several time.Date calls) made a match cost
// 3 ms per zone, paid at every start (docs/BENCHMARKS.md, "Fixed costs of
// the initial load").
type legacyYear struct {
	std, dst     time.Duration
	daylight     bool
	toDST, toStd time.Time
}

// inYear returns z's offsets and changes in year (UTC).
func (z LegacyZone) inYear(year int) legacyYear {
	y := legacyYear{std: -time.Duration(z.Bias+z.Standard.Bias) * time.Minute}
	if z.Standard.Month == 0 || z.Daylight.Month == 0 {
		return y
	}
	y.daylight = true
	y.dst = -time.Duration(z.Bias+z.Daylight.Bias) * time.Minute
	// The change to daylight time happens at local standard time, the
	// change back at local daylight time.
	y.toDST = z.Daylight.on(year).Add(-y.std)
	y.toStd = z.Standard.on(year).Add(-y.dst)
	return y
}

// offsetAt returns the offset east of UTC at t, a time in y's year (UTC).
func (y legacyYear) offsetAt(t time.Time) time.Duration {
	if !y.daylight {
		return y.std
	}
	in := !t.Before(y.toDST) && t.Before(y.toStd)
	if y.toStd.Before(y.toDST) { // southern hemisphere: daylight time spans the new year
		in = !t.Before(y.toDST) || t.Before(y.toStd)
	}
	if in {
		return y.dst
	}
	return y.std
}

// on returns the rule's local wall-clock instant in year, as if UTC.
func (r LegacyRule) on(year int) time.Time {
	first := time.Date(year, r.Month, 1, 0, 0, 0, 0, time.UTC)
	day := 1 + (int(r.Weekday)-int(first.Weekday())+7)%7 + 7*(r.DayOrder-1)
	if r.DayOrder >= 5 {
		last := time.Date(year, r.Month+1, 0, 0, 0, 0, 0, time.UTC).Day()
		for day > last {
			day -= 7
		}
	}
	return time.Date(year, r.Month, day, 0, 0, 0, 0, time.UTC).Add(r.At)
}

// MatchLegacyZone returns an IANA zone whose offsets agree with z at every
// hour of year, trying the zones of the Windows ids in order, and false when
// none does. Several zones share one rule (Berlin, Paris, Rome): the first
// is as good as any for rendering times and finding midnights in that year.
func MatchLegacyZone(z LegacyZone, year int) (string, bool) {
	type key struct {
		z    LegacyZone
		year int
	}
	if v, ok := legacyMatches.Load(key{z, year}); ok {
		name := v.(string)
		return name, name != ""
	}
	name := matchLegacyZone(z, year)
	legacyMatches.Store(key{z, year}, name)
	return name, name != ""
}

// legacyMatches caches MatchLegacyZone: mailboxes of one site share a few
// working-hours zones, and a match compares a year of hours per zone.
var legacyMatches sync.Map

func matchLegacyZone(z LegacyZone, year int) string {
	if agrees(z, time.UTC, year) {
		return "UTC"
	}
	for _, id := range WindowsZoneIDs() {
		loc, err := LoadZone(id)
		if err != nil {
			continue
		}
		if agrees(z, loc, year) {
			return loc.String()
		}
	}
	return ""
}

func agrees(z LegacyZone, loc *time.Location, year int) bool {
	y := z.inYear(year) // every t below is in year (UTC)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	// loc's offset is off from t until until (zero: for good), so it is
	// looked up again only after one of loc's changes.
	var off int
	var until time.Time
	looked := false
	for t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); t.Before(end); t = t.Add(time.Hour) {
		if !looked || !until.IsZero() && !t.Before(until) {
			lt := t.In(loc)
			_, off = lt.Zone()
			_, until = lt.ZoneBounds()
			looked = true
		}
		if time.Duration(off)*time.Second != y.offsetAt(t) {
			return false
		}
	}
	return true
}
