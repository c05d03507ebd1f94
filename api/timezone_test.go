package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/presence"
)

// The presence, user list and agenda name the user's zone, and the default
// agenda range is the user's local day in it: 25 hours on the day New York
// falls back.
func TestUserTimeZoneInPresenceAndAgenda(t *testing.T) {
	e := newEnv(t, envConfig{})
	dst := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) // 07:00 EST, the day clocks went 02:00 → 01:00
	e.clock.Set(dst)
	e.presence.Set(presence.Presence{User: "alice@example.com", Availability: presence.Available, Why: presence.Reason{Source: "free"},
		ComputedAt: dst, TimeZone: "America/New_York"}, dst)

	_, body := e.do(t, "GET", "/api/v1/users/alice@example.com/presence", "")
	var p api.PresenceDTO
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode presence %s: %v", body, err)
	}
	if p.TimeZone != "America/New_York" {
		t.Errorf("presence time_zone = %q, want America/New_York (%s)", p.TimeZone, body)
	}

	_, body = e.do(t, "GET", "/api/v1/users/alice@example.com/agenda", "")
	var a api.AgendaDTO
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("decode agenda %s: %v", body, err)
	}
	wantStart, wantEnd := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC)
	if a.TimeZone != "America/New_York" || !a.Start.Equal(wantStart) || !a.End.Equal(wantEnd) {
		t.Errorf("agenda = %s [%s, %s), want America/New_York [%s, %s)", a.TimeZone, a.Start, a.End, wantStart, wantEnd)
	}
}
