package calendar

import (
	"testing"
	"time"
)

// Working-hours zones as Exchange sends them (bias and rules, no name)
// resolve to a zone with the same offsets all year.
func TestMatchLegacyZone(t *testing.T) {
	eastern := LegacyZone{Bias: 300,
		Standard: LegacyRule{Bias: 0, Month: time.November, DayOrder: 1, Weekday: time.Sunday, At: 2 * time.Hour},
		Daylight: LegacyRule{Bias: -60, Month: time.March, DayOrder: 2, Weekday: time.Sunday, At: 2 * time.Hour}}
	europe := LegacyZone{Bias: -60,
		Standard: LegacyRule{Bias: 0, Month: time.October, DayOrder: 5, Weekday: time.Sunday, At: 3 * time.Hour},
		Daylight: LegacyRule{Bias: -60, Month: time.March, DayOrder: 5, Weekday: time.Sunday, At: 2 * time.Hour}}
	sydney := LegacyZone{Bias: -600,
		Standard: LegacyRule{Bias: 0, Month: time.April, DayOrder: 1, Weekday: time.Sunday, At: 3 * time.Hour},
		Daylight: LegacyRule{Bias: -60, Month: time.October, DayOrder: 1, Weekday: time.Sunday, At: 2 * time.Hour}}
	tokyo := LegacyZone{Bias: -540}
	for name, tc := range map[string]struct {
		z    LegacyZone
		want time.Duration // offset in July 2026
	}{"eastern": {eastern, -4 * time.Hour}, "europe": {europe, 2 * time.Hour}, "sydney": {sydney, 10 * time.Hour}, "tokyo": {tokyo, 9 * time.Hour}} {
		got, ok := MatchLegacyZone(tc.z, 2026)
		if !ok {
			t.Errorf("%s: no zone matched", name)
			continue
		}
		loc, _ := time.LoadLocation(got)
		if _, off := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC).In(loc).Zone(); time.Duration(off)*time.Second != tc.want {
			t.Errorf("%s: matched %s with offset %ds in July, want %s", name, got, off, tc.want)
		}
	}
	if _, ok := MatchLegacyZone(LegacyZone{Bias: 17}, 2026); ok {
		t.Error("a 17-minute bias matched a zone")
	}
}

// A zone that agrees with a real one except for a week or an hour of the
// year matches none: every hour is compared, after each of the candidate's
// own changes as before them.
func TestMatchLegacyZoneComparesEveryHour(t *testing.T) {
	for name, z := range map[string]LegacyZone{
		"daylight a week early": {Bias: -60,
			Standard: LegacyRule{Bias: 0, Month: time.October, DayOrder: 5, Weekday: time.Sunday, At: 3 * time.Hour},
			Daylight: LegacyRule{Bias: -60, Month: time.March, DayOrder: 4, Weekday: time.Sunday, At: 2 * time.Hour}},
		"standard an hour late": {Bias: -60,
			Standard: LegacyRule{Bias: 0, Month: time.October, DayOrder: 5, Weekday: time.Sunday, At: 4 * time.Hour},
			Daylight: LegacyRule{Bias: -60, Month: time.March, DayOrder: 5, Weekday: time.Sunday, At: 2 * time.Hour}},
		"southern, daylight a week late": {Bias: -600,
			Standard: LegacyRule{Bias: 0, Month: time.April, DayOrder: 1, Weekday: time.Sunday, At: 3 * time.Hour},
			Daylight: LegacyRule{Bias: -60, Month: time.October, DayOrder: 2, Weekday: time.Sunday, At: 2 * time.Hour}},
	} {
		if got, ok := MatchLegacyZone(z, 2026); ok {
			t.Errorf("%s: matched %s", name, got)
		}
	}
}

// The comparison of a year of hours for the zone that matches, paid once
// per working-hours zone at every start (docs/BENCHMARKS.md, "Fixed costs
// of the initial load").
func BenchmarkAgreesMatchingZone(b *testing.B) {
	europe := LegacyZone{Bias: -60,
		Standard: LegacyRule{Bias: 0, Month: time.October, DayOrder: 5, Weekday: time.Sunday, At: 3 * time.Hour},
		Daylight: LegacyRule{Bias: -60, Month: time.March, DayOrder: 5, Weekday: time.Sunday, At: 2 * time.Hour}}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Skip("no tzdata:", err)
	}
	for b.Loop() {
		if !agrees(europe, loc, 2026) {
			b.Fatal("Europe/Berlin does not agree with its own rules")
		}
	}
}
