package ewssim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
	"github.com/calsync/calsync/internal/testenv"
)

func TestControlAPIFaultsAndChurn(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Generate: true, Basic: true, Options: ewsmem.Options{Servers: 2, Mailboxes: 4, Seed: 3}})
	do := func(method, path, body string) (int, []byte) { return e.do(method, path, "", body) }
	tests := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/sim/v1/faults", `{"kind":"latency","latency_ms":0}`, 200},
		{"POST", "/sim/v1/faults", `{"kind":"nonsense"}`, 400},
		{"POST", "/sim/v1/faults", `{"kind":"server-busy","percent":101}`, 400},
		{"POST", "/sim/v1/faults", `{"kind":"move-mailbox","mailbox":"ghost@example.com"}`, 404},
		{"POST", "/sim/v1/faults", `{"kind":"unknown-field","bogus":1}`, 400},
		{"POST", "/sim/v1/churn", `{"action":"dance"}`, 400},
		{"PUT", "/sim/v1/mailboxes/user2@example.com/oof", `{"state":"Enabled","internal_reply":"gone"}`, 204},
		{"PUT", "/sim/v1/mailboxes/user2@example.com/oof", `{"state":"Sometimes"}`, 400},
		{"GET", "/sim/v1/mailboxes/user9@example.com/occurrences?start=2026-03-01T00:00:00Z&end=2026-03-08T00:00:00Z", "", 404},
		{"GET", "/sim/v1/mailboxes/user1@example.com/occurrences?start=yesterday&end=2026-03-08T00:00:00Z", "", 400},
		{"POST", "/sim/v1/mailboxes/user1@example.com/items", `{"subject":"api","start":"2026-03-03T10:00:00Z","end":"2026-03-03T09:00:00Z"}`, 400},
		{"POST", "/sim/v1/mailboxes/user1@example.com/items", `{"subject":"api","start":"2026-03-03T10:00:00Z","end":"2026-03-03T11:00:00Z"}`, 201},
	}
	for _, tt := range tests {
		if status, body := do(tt.method, tt.path, tt.body); status != tt.want {
			t.Errorf("%s %s %s = %d %s, want %d", tt.method, tt.path, tt.body, status, body, tt.want)
		}
	}
	// 401 fault: the next request is refused, the one after works.
	if status, _ := do("POST", "/sim/v1/faults", `{"kind":"unauthorized","count":1}`); status != 200 {
		t.Fatal("unauthorized fault refused")
	}
	if status, _ := e.post(envelope("Exchange2013_SP1", "user1@example.com", `<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>user1@example.com</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`)); status != 401 {
		t.Errorf("request after unauthorized fault = %d, want 401", status)
	}
	if status, _ := e.post(envelope("Exchange2013_SP1", "user1@example.com", `<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>user1@example.com</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`)); status != 200 {
		t.Errorf("second request = %d, want 200", status)
	}
	// Front-end faults: X-CasErrorCode and the generic error page.
	do("POST", "/sim/v1/faults", `{"kind":"cas-error"}`)
	do("POST", "/sim/v1/faults", `{"kind":"error-page"}`)
	for _, want := range []int{500, 302, 200} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/EWS/Exchange.asmx", strings.NewReader(envelope("Exchange2013_SP1", "user1@example.com", `<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>user1@example.com</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`)))
		req.SetBasicAuth(e.sim.ServiceAccount(), "password")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || want == 500 && resp.Header.Get("X-CasErrorCode") == "" || want == 302 && !strings.Contains(resp.Header.Get("Location"), "genericerrorpage") {
			t.Errorf("front-end fault answer = %d %v, want %d", resp.StatusCode, resp.Header, want)
		}
	}
	// HTTP 200 with ErrorInternalServerError wrapping ErrorServerBusy.
	do("POST", "/sim/v1/faults", `{"kind":"internal-server-busy","percent":100}`)
	status, data := e.post(envelope("Exchange2013_SP1", "user1@example.com", `<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>user1@example.com</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`))
	ewsschema.Validate(t, "internal server busy", data)
	var oof ewswire.GetUserOofSettingsResponse
	decode(t, data, &oof)
	if status != 200 || oof.ResponseMessage.ResponseCode != string(ews.ErrorInternalServerError) || oof.ResponseMessage.MessageXml["InnerErrorResponseCode"] != "ErrorServerBusy" {
		t.Errorf("internal-server-busy answer = %d %+v", status, oof.ResponseMessage)
	}
	do("POST", "/sim/v1/faults", `{"kind":"clear"}`)
	// Moving a mailbox drops its subscriptions and changes its server.
	before, _ := e.sim.MailboxServer("user3@example.com")
	e.subscribeStreaming("user3@example.com")
	status, body := do("POST", "/sim/v1/faults", `{"kind":"move-mailbox","mailbox":"user3@example.com"}`)
	var res ewssim.FaultResult
	if status != 200 || json.Unmarshal(body, &res) != nil || res.Affected != 1 {
		t.Errorf("move-mailbox = %d %s", status, body)
	}
	if after, _ := e.sim.MailboxServer("user3@example.com"); after == before {
		t.Errorf("mailbox still on %s after move", after)
	}
	// Churn through the control API changes calendars over (fake) time.
	if status, body := do("POST", "/sim/v1/churn", `{"action":"start","per_second":50,"seed":9}`); status != 200 {
		t.Fatalf("churn start = %d %s", status, body)
	}
	for i := 0; i < 20 && e.sim.Stats().ChurnChanges < 10; i++ {
		testenv.WaitFor(t, "churn timer", func() bool { return e.clock.PendingTimers() > 0 })
		e.clock.Advance(100 * time.Millisecond)
	}
	if status, _ := do("POST", "/sim/v1/churn", `{"action":"stop"}`); status != 200 {
		t.Fatal("churn stop failed")
	}
	if n := e.sim.Stats().ChurnChanges; n < 10 {
		t.Errorf("churn made %d changes, want ≥ 10", n)
	}
	status, body = do("GET", "/sim/v1/stats", "")
	var st ewssim.Stats
	if status != 200 || json.Unmarshal(body, &st) != nil || st.Requests["GetUserOofSettingsRequest"] < 2 || st.Mailboxes != 5 {
		t.Errorf("stats = %d %s", status, body)
	}
}

func TestGeneratorIsReproducible(t *testing.T) {
	a := newSim(t, ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: 5, Seed: 11}})
	b := newSim(t, ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: 5, Seed: 11}})
	c := newSim(t, ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: 5, Seed: 12}})
	dump := func(x *ewssim.Simulator) []byte {
		var buf bytes.Buffer
		for _, m := range x.Mailboxes() {
			occ, err := x.Occurrences(m, t0.AddDate(0, 0, -7), t0.AddDate(0, 1, 0))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range occ {
				buf.WriteString(m + o.ItemId.Id + o.Subject + o.Start.String() + string(o.CalendarItemType) + string(o.LegacyFreeBusyStatus) + "\n")
			}
		}
		return buf.Bytes()
	}
	da, db, dc := dump(a), dump(b), dump(c)
	if !bytes.Equal(da, db) {
		t.Error("same seed produced different calendars")
	}
	if bytes.Equal(da, dc) {
		t.Error("different seeds produced the same calendars")
	}
	// The team meeting is one meeting in five calendars: same UID.
	uids := map[string]bool{}
	for _, m := range a.Mailboxes()[1:] {
		occ, _ := a.Occurrences(m, t0, t0.AddDate(0, 0, 14))
		for _, o := range occ {
			if strings.HasPrefix(o.Subject, "Team sync") {
				uids[o.UID] = true
			}
		}
	}
	if len(uids) != 1 {
		t.Errorf("team meeting UIDs across mailboxes = %v, want one", uids)
	}
	kinds := map[string]bool{}
	for _, line := range strings.Split(string(da), "\n") {
		for _, k := range []string{"Occurrence", "Exception", "Single"} {
			if strings.Contains(line, k) {
				kinds[k] = true
			}
		}
	}
	if len(kinds) != 3 {
		t.Errorf("generated calendars lack item types: %v", kinds)
	}
}
