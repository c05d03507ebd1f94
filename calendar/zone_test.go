package calendar

import (
	"errors"
	"testing"
	"time"
)

func TestWindowsZonesAllLoad(t *testing.T) {
	if len(windowsZones) < 100 {
		t.Errorf("only %d Windows zones mapped", len(windowsZones))
	}
	for id, iana := range windowsZones {
		loc, err := LoadZone(id)
		if err != nil {
			t.Errorf("LoadZone(%q) (-> %s): %v", id, iana, err)
			continue
		}
		if loc.String() != iana {
			t.Errorf("LoadZone(%q) = %s, want %s", id, loc, iana)
		}
	}
}

func TestLoadZone(t *testing.T) {
	winter := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		offset int // hours east of UTC in January
	}{
		{"W. Europe Standard Time", 1},
		{"w. europe standard time", 1},
		{"  GMT Standard Time ", 0},
		{"Eastern Standard Time", -5},
		{"Pacific Standard Time", -8},
		{"Central European Standard Time", 1},
		{"Romance Standard Time", 1},
		{"Tokyo Standard Time", 9},
		{"AUS Eastern Standard Time", 11},
		{"UTC", 0},
		{"Europe/Berlin", 1},
		{"Asia/Kolkata", 5},
	}
	for _, tt := range tests {
		loc, err := LoadZone(tt.name)
		if err != nil {
			t.Errorf("LoadZone(%q): %v", tt.name, err)
			continue
		}
		if _, off := winter.In(loc).Zone(); off/3600 != tt.offset {
			t.Errorf("LoadZone(%q) offset %d s, want %d h", tt.name, off, tt.offset)
		}
	}
	for _, bad := range []string{"", "Mars Standard Time", "Europe/Atlantis"} {
		if _, err := LoadZone(bad); !errors.Is(err, ErrUnknownZone) {
			t.Errorf("LoadZone(%q) error %v, want ErrUnknownZone", bad, err)
		}
	}
}

func TestAllDaySpan(t *testing.T) {
	berlin, _ := LoadZone("Europe/Berlin")
	sydney, _ := LoadZone("Australia/Sydney")
	d := func(loc *time.Location, y int, m time.Month, day int) time.Time {
		return time.Date(y, m, day, 0, 0, 0, 0, loc)
	}
	tests := []struct {
		name       string
		o          Occurrence
		mailbox    *time.Location
		start, end time.Time
	}{
		{"timed unchanged", Occurrence{Start: d(berlin, 2025, 3, 30).Add(9 * time.Hour), End: d(berlin, 2025, 3, 30).Add(10 * time.Hour)}, berlin,
			d(berlin, 2025, 3, 30).Add(9 * time.Hour), d(berlin, 2025, 3, 30).Add(10 * time.Hour)},
		{"spring forward day", Occurrence{AllDay: true, Start: d(berlin, 2025, 3, 30), End: d(berlin, 2025, 3, 31), TimeZone: "Europe/Berlin"}, berlin,
			d(berlin, 2025, 3, 30), d(berlin, 2025, 3, 31)},
		{"UTC midnights for a Sydney mailbox", Occurrence{AllDay: true, Start: time.Date(2025, 10, 5, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 10, 6, 0, 0, 0, 0, time.UTC), TimeZone: "UTC"}, sydney,
			d(sydney, 2025, 10, 5), d(sydney, 2025, 10, 6)},
		{"item zone differs from mailbox", Occurrence{AllDay: true, Start: d(sydney, 2025, 11, 24), End: d(sydney, 2025, 11, 26), TimeZone: "AUS Eastern Standard Time"}, berlin,
			d(berlin, 2025, 11, 24), d(berlin, 2025, 11, 26)},
		{"zero length covers its day", Occurrence{AllDay: true, Start: d(berlin, 2025, 11, 24), End: d(berlin, 2025, 11, 24)}, berlin,
			d(berlin, 2025, 11, 24), d(berlin, 2025, 11, 25)},
		{"unknown item zone uses mailbox", Occurrence{AllDay: true, Start: d(berlin, 2025, 10, 26), End: d(berlin, 2025, 10, 27), TimeZone: "Nowhere"}, berlin,
			d(berlin, 2025, 10, 26), d(berlin, 2025, 10, 27)},
		{"nil mailbox is UTC", Occurrence{AllDay: true, Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)}, nil,
			time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		s, e := AllDaySpan(tt.o, tt.mailbox)
		if !s.Equal(tt.start) || !e.Equal(tt.end) {
			t.Errorf("%s: AllDaySpan = [%s, %s), want [%s, %s)", tt.name, s, e, tt.start, tt.end)
		}
	}
}
