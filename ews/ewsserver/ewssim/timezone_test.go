package ewssim_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

func TestControlTimeZone(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{})
	tests := []struct {
		method, path, body string
		status             int
		want               ewssim.TimeZoneJSON
	}{
		{"GET", "/sim/v1/mailboxes/user1@example.com/timezone", "", 200, ewssim.TimeZoneJSON{TimeZone: "UTC", Windows: "UTC"}},
		{"PUT", "/sim/v1/mailboxes/user1@example.com/timezone", `{"time_zone":"America/New_York"}`, 200, ewssim.TimeZoneJSON{TimeZone: "America/New_York", Windows: "Eastern Standard Time"}},
		{"PUT", "/sim/v1/mailboxes/user2@example.com/timezone", `{"time_zone":"W. Europe Standard Time"}`, 200, ewssim.TimeZoneJSON{TimeZone: "Europe/Berlin", Windows: "W. Europe Standard Time"}},
		{"GET", "/sim/v1/mailboxes/user1@example.com/timezone", "", 200, ewssim.TimeZoneJSON{TimeZone: "America/New_York", Windows: "Eastern Standard Time"}},
		{"PUT", "/sim/v1/mailboxes/user1@example.com/timezone", `{"time_zone":"Mars/Olympus_Mons"}`, 400, ewssim.TimeZoneJSON{}},
		{"PUT", "/sim/v1/mailboxes/ghost@example.com/timezone", `{"time_zone":"UTC"}`, 404, ewssim.TimeZoneJSON{}},
	}
	for _, tt := range tests {
		status, body := e.do(tt.method, tt.path, "application/json", tt.body)
		if status != tt.status {
			t.Errorf("%s %s %s = %d %s, want %d", tt.method, tt.path, tt.body, status, body, tt.status)
			continue
		}
		if status != 200 {
			var problem map[string]string
			if json.Unmarshal(body, &problem) != nil || problem["error"] == "" {
				t.Errorf("%s %s: error body %s is not a JSON error", tt.method, tt.path, body)
			}
			continue
		}
		var got ewssim.TimeZoneJSON
		if err := json.Unmarshal(body, &got); err != nil || got != tt.want {
			t.Errorf("%s %s = %s, want %+v", tt.method, tt.path, body, tt.want)
		}
	}
}

// Generated mailboxes live in several zones, so that tests meet more than
// one local midnight.
func TestGeneratedMailboxesSpreadOverZones(t *testing.T) {
	sim := newSim(t, ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: 12, Seed: 5}})
	zones := map[string]bool{}
	for i := 1; i <= 12; i++ {
		id, _, err := sim.TimeZone(fmt.Sprintf("user%d@example.com", i))
		if err != nil || id == "UTC" {
			t.Fatalf("user%d zone = %q, %v; want a generated zone", i, id, err)
		}
		zones[id] = true
	}
	if len(zones) < 3 {
		t.Errorf("12 generated mailboxes share %d zones (%v), want several", len(zones), zones)
	}
}
