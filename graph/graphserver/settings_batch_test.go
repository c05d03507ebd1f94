package graphserver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/graph/graphserver"
)

func TestMailboxSettings(t *testing.T) {
	e := newEnv(t, 2, nil)
	from, to := start.Add(24*time.Hour), start.Add(72*time.Hour)
	if err := e.sim.SetOOF("user1@example.com", ews.OofSettings{State: ews.OofScheduled, ExternalAudience: ews.AudienceAll, Start: from, End: to, InternalReply: "away"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.SetTimeZone("user1@example.com", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	var s struct {
		TimeZone string `json:"timeZone"`
		Auto     struct {
			Status           string `json:"status"`
			ExternalAudience string `json:"externalAudience"`
			Internal         string `json:"internalReplyMessage"`
			Start            struct {
				DateTime string `json:"dateTime"`
				TimeZone string `json:"timeZone"`
			} `json:"scheduledStartDateTime"`
		} `json:"automaticRepliesSetting"`
	}
	e.get("/v1.0/users/user1@example.com/mailboxSettings", &s)
	if s.TimeZone != "W. Europe Standard Time" || !strings.EqualFold(s.Auto.Status, "scheduled") || !strings.EqualFold(s.Auto.ExternalAudience, "all") ||
		s.Auto.Internal != "away" || s.Auto.Start.DateTime != "2027-03-02T09:00:00.0000000" || s.Auto.Start.TimeZone != "UTC" {
		t.Fatalf("mailboxSettings %+v", s)
	}
	var sub struct {
		Status string `json:"status"`
	}
	e.get("/v1.0/users/user1@example.com/mailboxSettings/automaticRepliesSetting", &sub)
	if !strings.EqualFold(sub.Status, "scheduled") {
		t.Fatalf("automaticRepliesSetting status %q", sub.Status)
	}
	var tz struct {
		Value string `json:"value"`
	}
	e.get("/v1.0/users/user1@example.com/mailboxSettings/timeZone", &tz)
	if tz.Value != "W. Europe Standard Time" {
		t.Fatalf("timeZone %q", tz.Value)
	}
	// Both casings occur across mailboxes, as in Graph's documentation.
	cases := map[bool]bool{}
	for _, m := range e.sim.Mailboxes() {
		var v struct {
			Auto struct {
				Status string `json:"status"`
			} `json:"automaticRepliesSetting"`
		}
		e.get("/v1.0/users/"+m+"/mailboxSettings", &v)
		cases[v.Auto.Status[0] >= 'A' && v.Auto.Status[0] <= 'Z'] = true
	}
	if len(cases) != 2 {
		t.Fatalf("enumeration casing does not vary across mailboxes: %v", cases)
	}
}

type batchAnswer struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

func (e *env) batch(body string) (int, batchAnswer, []byte) {
	e.t.Helper()
	resp := e.do(http.MethodPost, "/v1.0/$batch", body)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a batchAnswer
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &a); err != nil {
			e.t.Fatalf("batch answer: %v: %s", err, b)
		}
	}
	return resp.StatusCode, a, b
}

func TestBatch(t *testing.T) {
	e := newEnv(t, 2, nil)
	e.addItems("user1@example.com", 2, "b")
	status, a, raw := e.batch(`{"requests":[
		{"id":"1","method":"GET","url":"/users/user1@example.com/calendarView?` + window + `"},
		{"id":"2","method":"GET","url":"/users/user2@example.com/mailboxSettings"},
		{"id":"3","method":"GET","url":"/users/nobody@example.com/mailboxSettings"},
		{"id":"4","method":"GET","url":"/users/user2@example.com/mailboxSettings","dependsOn":["3"]}]}`)
	if status != 200 || len(a.Responses) != 4 {
		t.Fatalf("batch: %d %s", status, raw)
	}
	got := map[string]int{}
	for _, r := range a.Responses {
		got[r.ID] = r.Status
	}
	if got["1"] != 200 || got["2"] != 200 || got["3"] != 404 || got["4"] != 424 {
		t.Fatalf("inner statuses %v, want 1:200 2:200 3:404 4:424", got)
	}
	for _, r := range a.Responses {
		if r.ID == "1" {
			var p page
			if err := json.Unmarshal(r.Body, &p); err != nil || len(p.Value) != 2 {
				t.Fatalf("inner calendarView body: %v %s", err, r.Body)
			}
		}
	}
}

func TestBatchRefusals(t *testing.T) {
	e := newEnv(t, 1, nil)
	var many []string
	for i := range 21 {
		many = append(many, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/users/user1@example.com/mailboxSettings"}`, i))
	}
	for name, body := range map[string]string{
		"21 requests":      `{"requests":[` + strings.Join(many, ",") + `]}`,
		"duplicate ids":    `{"requests":[{"id":"1","method":"GET","url":"/a"},{"id":"1","method":"GET","url":"/b"}]}`,
		"bad JSON":         `{"requests":[`,
		"empty":            `{"requests":[]}`,
		"cycle":            `{"requests":[{"id":"1","method":"GET","url":"/a","dependsOn":["2"]},{"id":"2","method":"GET","url":"/b","dependsOn":["1"]}]}`,
		"body, no headers": `{"requests":[{"id":"1","method":"POST","url":"/subscriptions","body":{}}]}`,
		"nested batch":     `{"requests":[{"id":"1","method":"POST","url":"/$batch","headers":{"Content-Type":"application/json"},"body":{}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do(http.MethodPost, "/v1.0/$batch", body), 400, "BadRequest")
		})
	}
	huge := `{"requests":[{"id":"1","method":"GET","url":"/` + strings.Repeat("a", 5<<20) + `"}]}`
	wantError(t, e.do(http.MethodPost, "/v1.0/$batch", huge), 413, "BadRequest")
}

func TestThrottling(t *testing.T) {
	e := newEnv(t, 1, func(o *graphserver.Options) { o.RequestsPer10Min = 3 })
	path := "/v1.0/users/user1@example.com/mailboxSettings"
	for range 3 {
		var v map[string]any
		e.get(path, &v)
	}
	resp := e.do(http.MethodGet, path, "")
	ra := resp.Header.Get("Retry-After")
	wantError(t, resp, 429, "ApplicationThrottled")
	// 3 per 10 minutes: one more after (at most) 200 s.
	if secs, err := strconv.ParseFloat(ra, 64); err != nil || secs < 190 || secs > 200 {
		t.Fatalf("Retry-After %q, want about 200 seconds", ra)
	}
	// Inside a batch the inner request is throttled, the batch is not.
	status, a, raw := e.batch(`{"requests":[{"id":"1","method":"GET","url":"/users/user1@example.com/mailboxSettings"}]}`)
	if status != 200 || a.Responses[0].Status != 429 || a.Responses[0].Headers["Retry-After"] == "" {
		t.Fatalf("batch under throttling: %d %s", status, raw)
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t, 1, nil)
	path := "/v1.0/users/user1@example.com/mailboxSettings"
	if err := e.graph.SetFaults(graphserver.Faults{ThrottlePercent: 100}); err != nil {
		t.Fatal(err)
	}
	resp := e.do(http.MethodGet, path, "")
	if ra := resp.Header.Get("Retry-After"); ra != "2.128" {
		t.Fatalf("Retry-After %q, want a fractional value", ra)
	}
	wantError(t, resp, 429, "TooManyRequests")
	if err := e.graph.SetFaults(graphserver.Faults{UnavailablePercent: 100}); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do(http.MethodGet, path, ""), 503, "serviceNotAvailable")
	if err := e.graph.SetFaults(graphserver.Faults{ThrottlePercent: 101}); err == nil {
		t.Fatal("101 % accepted")
	}
	if err := e.graph.SetFaults(graphserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	e.graph.FailNextRequests(1)
	wantError(t, e.do(http.MethodGet, path, ""), 401, "InvalidAuthenticationToken")
	var v map[string]any
	e.get(path, &v)
}
