package calendar

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	// Embed the IANA database so that zones resolve on hosts without
	// zoneinfo (Windows services, minimal containers).
	_ "time/tzdata"
)

// ErrUnknownZone is wrapped by LoadZone when a name is neither a Windows
// time-zone id nor an IANA zone.
var ErrUnknownZone = errors.New("calendar: unknown time zone")

var (
	zoneCache   sync.Map // name -> *time.Location
	windowsFold = func() map[string]string {
		m := make(map[string]string, len(windowsZones))
		for k, v := range windowsZones {
			m[strings.ToLower(k)] = v
		}
		return m
	}()
)

// WindowsToIANA returns the IANA zone for a Windows time-zone id
// ("W. Europe Standard Time" → "Europe/Berlin"); the match ignores case.
func WindowsToIANA(id string) (string, bool) {
	id = strings.TrimSpace(id)
	if z, ok := windowsZones[id]; ok {
		return z, true
	}
	z, ok := windowsFold[strings.ToLower(id)]
	return z, ok
}

// LoadZone resolves a Windows time-zone id or an IANA zone name. Results
// are cached, so calling it per occurrence is cheap.
func LoadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("%w: empty name", ErrUnknownZone)
	}
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	iana := name
	if z, ok := WindowsToIANA(name); ok {
		iana = z
	}
	loc, err := time.LoadLocation(iana)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownZone, name)
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// nearestLocalDate returns the calendar date nearest to t in loc: a local
// time at or after noon counts as the next day. All-day boundaries are
// midnights; rounding absorbs the hour a DST change or a zone mismatch adds
// or removes.
func nearestLocalDate(t time.Time, loc *time.Location) (year int, month time.Month, day int) {
	lt := t.In(loc)
	if lt.Hour() >= 12 {
		lt = lt.AddDate(0, 0, 1)
	}
	return lt.Date()
}

// AllDaySpan returns the instants an all-day occurrence covers in the
// mailbox zone: from local midnight of its first day to local midnight
// after its last day, computed with calendar dates so that days with 23 or
// 25 hours are handled. The item's own zone (TimeZone) identifies its
// dates; when it is empty or unknown, mailbox is used. For timed
// occurrences it returns Start and End unchanged.
func AllDaySpan(o Occurrence, mailbox *time.Location) (start, end time.Time) {
	if !o.AllDay {
		return o.Start, o.End
	}
	if mailbox == nil {
		mailbox = time.UTC
	}
	itemZone := mailbox
	if o.TimeZone != "" {
		if loc, err := LoadZone(o.TimeZone); err == nil {
			itemZone = loc
		}
	}
	y, m, d := nearestLocalDate(o.Start, itemZone)
	start = time.Date(y, m, d, 0, 0, 0, 0, mailbox)
	y, m, d = nearestLocalDate(o.End, itemZone)
	end = time.Date(y, m, d, 0, 0, 0, 0, mailbox)
	if !end.After(start) {
		// A zero-length all-day item still covers its day.
		end = time.Date(start.Year(), start.Month(), start.Day()+1, 0, 0, 0, 0, mailbox)
	}
	return start, end
}

// WindowsZoneIDs lists the Windows time-zone ids WindowsToIANA knows, sorted.
func WindowsZoneIDs() []string {
	ids := make([]string, 0, len(windowsZones))
	for id := range windowsZones {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
