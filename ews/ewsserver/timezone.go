package ewsserver

import (
	"fmt"
	"time"

	"github.com/calsync/calsync/calendar"
)

// LoadWindowsZone returns the location for a Windows time-zone id as used by
// EWS (for example "W. Europe Standard Time"), from the calendar package's
// CLDR mapping. An empty id means UTC; an IANA name is not a Windows id and
// is refused, as Exchange refuses it.
func LoadWindowsZone(id string) (*time.Location, error) {
	if id == "" {
		return time.UTC, nil
	}
	name, ok := calendar.WindowsToIANA(id)
	if !ok {
		return nil, fmt.Errorf("ewsserver: unknown Windows time zone %q", id)
	}
	loc, err := calendar.LoadZone(name)
	if err != nil {
		return nil, fmt.Errorf("ewsserver: time zone %q (%s): %w", id, name, err)
	}
	return loc, nil
}

// WindowsZoneIDs lists the Windows time-zone ids LoadWindowsZone knows.
func WindowsZoneIDs() []string { return calendar.WindowsZoneIDs() }
