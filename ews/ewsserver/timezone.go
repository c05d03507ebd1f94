package ewsserver

import (
	"fmt"
	"sync"
	"time"
)

// windowsZones maps the Windows time-zone ids EWS uses (StartTimeZoneId,
// TimeZone/@Id) to IANA names. It covers the zones calendars commonly use;
// unknown ids are an error rather than a silent UTC.
var windowsZones = map[string]string{
	"UTC":                             "UTC",
	"GMT Standard Time":               "Europe/London",
	"Greenwich Standard Time":         "Atlantic/Reykjavik",
	"W. Europe Standard Time":         "Europe/Berlin",
	"Central Europe Standard Time":    "Europe/Budapest",
	"Central European Standard Time":  "Europe/Warsaw",
	"Romance Standard Time":           "Europe/Paris",
	"E. Europe Standard Time":         "Europe/Chisinau",
	"FLE Standard Time":               "Europe/Kiev",
	"GTB Standard Time":               "Europe/Bucharest",
	"Russian Standard Time":           "Europe/Moscow",
	"Turkey Standard Time":            "Europe/Istanbul",
	"Israel Standard Time":            "Asia/Jerusalem",
	"South Africa Standard Time":      "Africa/Johannesburg",
	"Arabian Standard Time":           "Asia/Dubai",
	"India Standard Time":             "Asia/Calcutta",
	"China Standard Time":             "Asia/Shanghai",
	"Singapore Standard Time":         "Asia/Singapore",
	"Tokyo Standard Time":             "Asia/Tokyo",
	"Korea Standard Time":             "Asia/Seoul",
	"AUS Eastern Standard Time":       "Australia/Sydney",
	"New Zealand Standard Time":       "Pacific/Auckland",
	"Eastern Standard Time":           "America/New_York",
	"Central Standard Time":           "America/Chicago",
	"Mountain Standard Time":          "America/Denver",
	"US Mountain Standard Time":       "America/Phoenix",
	"Pacific Standard Time":           "America/Los_Angeles",
	"Alaskan Standard Time":           "America/Anchorage",
	"Hawaiian Standard Time":          "Pacific/Honolulu",
	"Atlantic Standard Time":          "America/Halifax",
	"E. South America Standard Time":  "America/Sao_Paulo",
	"Argentina Standard Time":         "America/Buenos_Aires",
	"Mexico Standard Time":            "America/Mexico_City",
	"Central America Standard Time":   "America/Guatemala",
	"SA Pacific Standard Time":        "America/Bogota",
	"Newfoundland Standard Time":      "America/St_Johns",
	"Egypt Standard Time":             "Africa/Cairo",
	"W. Australia Standard Time":      "Australia/Perth",
	"Cen. Australia Standard Time":    "Australia/Adelaide",
	"SE Asia Standard Time":           "Asia/Bangkok",
	"Pakistan Standard Time":          "Asia/Karachi",
	"Nepal Standard Time":             "Asia/Katmandu",
	"Iran Standard Time":              "Asia/Tehran",
	"Afghanistan Standard Time":       "Asia/Kabul",
	"Morocco Standard Time":           "Africa/Casablanca",
	"Azores Standard Time":            "Atlantic/Azores",
	"Venezuela Standard Time":         "America/Caracas",
	"Pacific SA Standard Time":        "America/Santiago",
	"Taipei Standard Time":            "Asia/Taipei",
	"Tasmania Standard Time":          "Australia/Hobart",
	"E. Australia Standard Time":      "Australia/Brisbane",
	"Samoa Standard Time":             "Pacific/Apia",
	"Dateline Standard Time":          "Etc/GMT+12",
	"Line Islands Standard Time":      "Pacific/Kiritimati",
	"North Asia Standard Time":        "Asia/Krasnoyarsk",
	"Ekaterinburg Standard Time":      "Asia/Yekaterinburg",
	"Arab Standard Time":              "Asia/Riyadh",
	"W. Central Africa Standard Time": "Africa/Lagos",
	"E. Africa Standard Time":         "Africa/Nairobi",
}

var zoneCache sync.Map // Windows id -> *time.Location

// LoadWindowsZone returns the location for a Windows time-zone id as used by
// EWS (for example "W. Europe Standard Time"). An empty id means UTC.
func LoadWindowsZone(id string) (*time.Location, error) {
	if id == "" {
		return time.UTC, nil
	}
	if l, ok := zoneCache.Load(id); ok {
		return l.(*time.Location), nil
	}
	name, ok := windowsZones[id]
	if !ok {
		return nil, fmt.Errorf("ewsserver: unknown Windows time zone %q", id)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("ewsserver: time zone %q (%s): %w", id, name, err)
	}
	zoneCache.Store(id, loc)
	return loc, nil
}

// WindowsZoneIDs lists the Windows time-zone ids LoadWindowsZone knows.
func WindowsZoneIDs() []string {
	ids := make([]string, 0, len(windowsZones))
	for id := range windowsZones {
		ids = append(ids, id)
	}
	return ids
}
