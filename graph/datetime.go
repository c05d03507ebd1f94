package graph

import (
	"fmt"
	"strings"
	"time"

	"github.com/calsync/calsync/calendar"
)

// DateTimeTimeZone is Graph's dateTimeTimeZone: a wall-clock time without
// offset ("2016-12-09T20:30:00.0000000") and the zone it is in ("UTC", a
// Windows zone id such as "Pacific Standard Time", or an IANA name).
type DateTimeTimeZone struct {
	DateTime string
	TimeZone string
}

// wallLayout is the layout of dateTime; Go's parser accepts any number of
// fractional digits after the seconds with ".999…" too, so one layout
// covers "…:00", "…:00.0000000" and "…:00.123".
const wallLayout = "2006-01-02T15:04:05.9999999"

// DateTimeOf returns the dateTimeTimeZone of t in zone (an IANA name or
// "UTC"), in the seven-digit form Graph writes.
func DateTimeOf(t time.Time, zone string) (DateTimeTimeZone, error) {
	if zone == "" || strings.EqualFold(zone, "UTC") {
		return DateTimeTimeZone{DateTime: t.UTC().Format("2006-01-02T15:04:05.0000000"), TimeZone: "UTC"}, nil
	}
	loc, err := calendar.LoadZone(zone)
	if err != nil {
		return DateTimeTimeZone{}, err
	}
	return DateTimeTimeZone{DateTime: t.In(loc).Format("2006-01-02T15:04:05.0000000"), TimeZone: zone}, nil
}

// UTC returns the dateTimeTimeZone of t in UTC.
func UTC(t time.Time) DateTimeTimeZone {
	d, _ := DateTimeOf(t, "UTC") // UTC never fails
	return d
}

// IsZero reports whether both fields are empty (the field was absent).
func (d DateTimeTimeZone) IsZero() bool { return d.DateTime == "" && d.TimeZone == "" }

// Time resolves d to an instant. The zone may be a Windows id or an IANA
// name (calendar.LoadZone); an empty zone means UTC, as Graph's default
// when no Prefer: outlook.timezone was sent. A dateTime that carries an
// offset or "Z" anyway is read with it (the offset wins over the zone).
func (d DateTimeTimeZone) Time() (time.Time, error) {
	s := strings.TrimSpace(d.DateTime)
	if s == "" {
		return time.Time{}, fmt.Errorf("graph: dateTimeTimeZone without dateTime (timeZone %q)", d.TimeZone)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	loc := time.UTC
	if z := strings.TrimSpace(d.TimeZone); z != "" && !strings.EqualFold(z, "UTC") {
		l, err := calendar.LoadZone(z)
		if err != nil {
			return time.Time{}, fmt.Errorf("graph: dateTimeTimeZone %q: %w", d.TimeZone, err)
		}
		loc = l
	}
	t, err := time.ParseInLocation(wallLayout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("graph: dateTime %q is not yyyy-mm-ddThh:mm:ss[.fffffff]", d.DateTime)
	}
	return t, nil
}

// String formats "2016-12-09T20:30:00.0000000 (UTC)".
func (d DateTimeTimeZone) String() string { return d.DateTime + " (" + d.TimeZone + ")" }
