package ewssim_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

// The simulator's now is movable: Options.Start (calsync sim --clock) and
// POST /sim/v1/clock; OOF schedules follow it.
func TestControlClock(t *testing.T) {
	start := time.Date(2027, 3, 27, 20, 0, 0, 0, time.UTC) // the evening before Europe's DST night
	e := newWireEnv(t, ewssim.Options{Start: start})
	clockIs := func(what string, status int, body []byte, want time.Time) {
		t.Helper()
		var got ewssim.ClockJSON
		if status != 200 || json.Unmarshal(body, &got) != nil || !got.Now.Equal(want) {
			t.Fatalf("%s = %d %s, want now %s", what, status, body, want.Format(time.RFC3339))
		}
	}
	status, body := e.do("GET", "/sim/v1/clock", "", "")
	clockIs("GET clock", status, body, start)

	// Automatic replies scheduled from midnight are off now, on after the
	// clock moves past it.
	if err := e.sim.SetOOF("user1@example.com", ews.OofSettings{State: ews.OofScheduled, Start: start.Add(4 * time.Hour), End: start.Add(100 * time.Hour), InternalReply: "Easter."}); err != nil {
		t.Fatal(err)
	}
	tipOn := func() bool {
		t.Helper()
		_, data := e.post(envelope("Exchange2013_SP1", "", `<m:GetMailTips><m:SendingAs><t:EmailAddress>svc-calsync@example.com</t:EmailAddress></m:SendingAs><m:Recipients><t:Mailbox><t:EmailAddress>user1@example.com</t:EmailAddress></t:Mailbox></m:Recipients><m:MailTipsRequested>OutOfOfficeMessage</m:MailTipsRequested></m:GetMailTips>`))
		ewsschema.Validate(t, "GetMailTips", data)
		var r ewswire.GetMailTipsResponse
		decode(t, data, &r)
		return r.ResponseMessages.Messages[0].MailTips.ToEWS().On
	}
	if tipOn() {
		t.Fatal("OOF tip on before its scheduled start")
	}
	status, body = e.do("POST", "/sim/v1/clock", "application/json", `{"advance":"90m"}`)
	clockIs("advance 90m", status, body, start.Add(90*time.Minute))
	status, body = e.do("POST", "/sim/v1/clock", "application/json", `{"advance":"3h"}`)
	clockIs("advance 3h", status, body, start.Add(270*time.Minute))
	if !tipOn() {
		t.Error("OOF tip off after the clock passed its scheduled start")
	}
	status, body = e.do("POST", "/sim/v1/clock", "application/json", `{"now":"2027-10-30T22:00:00Z"}`)
	clockIs("set now", status, body, time.Date(2027, 10, 30, 22, 0, 0, 0, time.UTC))
	// The fake clock under it runs on; so does the simulator's.
	e.clock.Advance(time.Minute)
	status, body = e.do("GET", "/sim/v1/clock", "", "")
	clockIs("GET clock after a minute", status, body, time.Date(2027, 10, 30, 22, 1, 0, 0, time.UTC))

	for _, bad := range []string{`{}`, `{"advance":"soon"}`, `{"advance":"-5m"}`, `{"now":"2027-10-30T22:00:00Z","advance":"1h"}`, `{"now":"tomorrow"}`} {
		status, body := e.do("POST", "/sim/v1/clock", "application/json", bad)
		var problem map[string]string
		if status != 400 || json.Unmarshal(body, &problem) != nil || problem["error"] == "" {
			t.Errorf("POST /sim/v1/clock %s = %d %s, want 400 with a JSON error", bad, status, body)
		}
	}
}

// The generator builds its calendars around the simulator's now, so a
// far-future start still has a populated week.
func TestGeneratorFollowsStart(t *testing.T) {
	start := time.Date(2031, 6, 2, 8, 0, 0, 0, time.UTC)
	sim := newSim(t, ewssim.Options{Start: start, Generate: true, Options: ewsmem.Options{Mailboxes: 2, Seed: 3}})
	occ, err := sim.Occurrences("user1@example.com", start, start.AddDate(0, 0, 7))
	if err != nil || len(occ) < 5 {
		t.Fatalf("user1's week from %s: %d occurrences, %v; want a generated calendar", start.Format(time.DateOnly), len(occ), err)
	}
}
