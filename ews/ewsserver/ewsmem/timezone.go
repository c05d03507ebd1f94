package ewsmem

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/ews/ewsserver"
)

// A mailbox's time zone is a Windows time-zone id, as Exchange stores it
// (the OWA.UserOptions "timezone" entry); it decides the mailbox's working
// hours. The control API also takes IANA names, mapped back through the
// CLDR table the calendar package carries.

var ianaToWindows = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, id := range calendar.WindowsZoneIDs() {
		if iana, ok := calendar.WindowsToIANA(id); ok {
			if _, dup := m[strings.ToLower(iana)]; !dup {
				m[strings.ToLower(iana)] = id
			}
		}
	}
	return m
})

// WindowsZone returns the Windows time-zone id for a Windows id (any case)
// or an IANA zone name that is the CLDR default of some Windows zone
// ("America/New_York" → "Eastern Standard Time").
func WindowsZone(name string) (string, error) {
	name = strings.TrimSpace(name)
	for _, id := range calendar.WindowsZoneIDs() {
		if strings.EqualFold(id, name) {
			return id, nil
		}
	}
	if id, ok := ianaToWindows()[strings.ToLower(name)]; ok {
		return id, nil
	}
	return "", fmt.Errorf("ewsmem: unknown time zone %q: use a Windows time-zone id (\"W. Europe Standard Time\") or the IANA zone Windows maps it to (\"Europe/Berlin\")", name)
}

// SetTimeZone sets a mailbox's time zone (a Windows id or an IANA name
// WindowsZone knows) and returns the Windows id stored.
func (x *Exchange) SetTimeZone(smtp, name string) (string, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	id, err := WindowsZone(name)
	if err != nil {
		return "", err
	}
	mb.mu.Lock()
	mb.timeZone = id
	mb.mu.Unlock()
	return id, nil
}

// TimeZone returns a mailbox's Windows time-zone id and its location
// (UTC when none was set).
func (x *Exchange) TimeZone(smtp string) (string, *time.Location, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return "", nil, fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	id := mb.timeZone
	mb.mu.Unlock()
	return zoneOf(id)
}

// zoneOf resolves a mailbox's Windows zone id ("" = UTC).
func zoneOf(id string) (string, *time.Location, error) {
	if id == "" {
		return "UTC", time.UTC, nil
	}
	loc, err := ewsserver.LoadWindowsZone(id)
	if err != nil {
		return "", nil, err
	}
	return id, loc, nil
}
