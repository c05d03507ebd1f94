package graphserver_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/testenv"
)

func TestAccessScopePropagates(t *testing.T) {
	e := newEnv(t, 2, nil)
	path := func(u string) string { return "/v1.0/users/" + u + "/mailboxSettings" }
	var v map[string]any
	e.graph.SetAccessScope([]string{"user1@example.com"}, 30*time.Minute)
	// The old scope (everything) holds until the change has propagated.
	e.get(path("user2@example.com"), &v)
	e.clk.Advance(30 * time.Minute)
	ge := wantError(t, e.do(http.MethodGet, path("user2@example.com"), ""), 403, "ErrorAccessDenied")
	if ge.Error.Message != "Access to OData is disabled." {
		t.Fatalf("message %q", ge.Error.Message)
	}
	e.get(path("user1@example.com"), &v)
	rc := newReceiver(t)
	resp, _ := e.subscribe(rc, "user2@example.com", start.Add(time.Hour))
	wantError(t, resp, 403, "ErrorAccessDenied")
	e.graph.SetAccessScope(nil, 0)
	e.get(path("user2@example.com"), &v)
}

func TestDuplicatesAndReplays(t *testing.T) {
	e := newEnv(t, 1, func(o *graphserver.Options) { o.DuplicateNotifications, o.DeltaReplays = true, true })
	e.addItems("user1@example.com", 3, "r")
	// Delta: the second round repeats one unchanged event.
	_, link := e.round("/v1.0/users/user1@example.com/calendarView/delta?" + window)
	again, _ := e.round(link)
	if len(again) != 1 || again[0].Removed != nil {
		t.Fatalf("round without changes: %+v, want one replayed event", again)
	}
	rc := newReceiver(t)
	if _, id := e.subscribe(rc, "user1@example.com", start.Add(time.Hour)); id == "" {
		t.Fatal("no subscription")
	}
	e.addItems("user1@example.com", 1, "dup")
	testenv.WaitFor(t, "the created notification twice", func() bool {
		n := 0
		for _, x := range rc.received() {
			if x.ChangeType == "created" {
				n++
			}
		}
		return n == 2
	})
}
