package graphserver_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Hostile or broken clients get 4xx answers in Graph's shape, never a
// panic or a 5xx.
func TestHostileRequests(t *testing.T) {
	e := newEnv(t, 1, nil)
	cases := []struct{ method, path, body string }{
		{"GET", "/v1.0/", ""},
		{"GET", "/v1.0/users", ""},
		{"GET", "/v1.0/users//calendarView", ""},
		{"GET", "/v1.0/users/user1@example.com/calendarView?startDateTime=%ZZ&endDateTime=", ""},
		{"GET", "/v1.0/users/user1@example.com/calendarView/delta?$skiptoken=" + strings.Repeat("A", 5000), ""},
		{"GET", "/v1.0/users/user1@example.com/events/" + strings.Repeat("%2F", 100), ""},
		{"POST", "/v1.0/$batch", `[1,2,3]`},
		{"POST", "/v1.0/$batch", `{"requests":[{"id":"1","method":"GET","url":"/users/user1@example.com/mailboxSettings","dependsOn":["9"]}]}`},
		{"POST", "/v1.0/subscriptions", `null`},
		{"POST", "/v1.0/subscriptions", `{"expirationDateTime":"tomorrow"}`},
		{"PATCH", "/v1.0/subscriptions/none", `{"expirationDateTime":"2027-03-01T10:00:00Z"}`},
		{"PUT", "/v1.0/subscriptions", `{}`},
		{"GET", "/v1.0/subscriptions/a/b/c", ""},
	}
	for _, c := range cases {
		resp := e.do(c.method, c.path, c.body)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(string(b), `"code"`) {
			t.Errorf("%s %s: %d %s", c.method, clipped(c.path), resp.StatusCode, b)
		}
	}
	// Inside a batch, broken requests fail alone.
	for _, inner := range []string{`{"id":"1","method":"GET","url":"::::"}`, `{"id":"1","method":"G E T","url":"/users/user1@example.com/mailboxSettings"}`} {
		status, a, raw := e.batch(`{"requests":[` + inner + `]}`)
		if status != 200 || len(a.Responses) != 1 || a.Responses[0].Status != 400 {
			t.Errorf("batch with %s: %d %s", inner, status, raw)
		}
	}
	// The token endpoint and Graph survive a request with a huge header.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1.0/users/user1@example.com/mailboxSettings", nil)
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", 100<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("huge bearer token: %d", resp.StatusCode)
	}
}

func clipped(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
