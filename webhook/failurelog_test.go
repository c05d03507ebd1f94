package webhook

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestFailuresAreLoggedAsExamplesAndACount: a receiver outage fails the
// deliveries of many users at once. The log shows a few examples per
// endpoint, cause and minute and then one line with the count, not one
// line per attempt (4,546 lines in a two-minute outage with 400 users).
func TestFailuresAreLoggedAsExamplesAndACount(t *testing.T) {
	const users = 40
	fake := clock.NewFake(t0)
	rc := newReceiver(t, fake.Now, func(received) int { return http.StatusServiceUnavailable })
	var logs testenv.SyncBuffer
	d, err := New(Options{
		Outbox: memstore.New(), Clock: fake, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Endpoints:  []Endpoint{endpoint("pbx", rc.srv.URL)},
		MinBackoff: time.Hour, MaxBackoff: time.Hour, MaxAge: -1, PollInterval: time.Hour, BatchSize: users,
	})
	if err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, d)
	for i := range users {
		if _, err := d.Enqueue(t.Context(), EventPresenceChanged, fmt.Sprintf("user%02d@example.com", i), map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, "every user's first attempt", func() bool { return len(rc.requests()) == users })
	testenv.WaitFor(t, "the failures recorded and the summary timer armed", func() bool {
		return pending(t, d.opts.Outbox, "pbx") == users && fake.PendingTimers() >= 2 // the loop's wait and the summary
	})
	perAttempt := strings.Count(logs.String(), "webhook: delivery failed")
	if perAttempt != failureLogBurst {
		t.Errorf("%d lines for %d failed deliveries within a minute, want %d examples:\n%s", perAttempt, users, failureLogBurst, logs.String())
	}
	for _, want := range []string{"endpoint=pbx", "HTTP 503", "attempt=1"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the examples lack %q:\n%s", want, logs.String())
		}
	}
	fake.Advance(failureLogWindow)
	want := fmt.Sprintf("deliveries=%d", users-failureLogBurst)
	testenv.WaitFor(t, "the summary line with the count", func() bool {
		return strings.Contains(logs.String(), want)
	})
	summary := logs.String()[strings.LastIndex(logs.String(), "time="):]
	for _, want := range []string{"endpoint=pbx", `cause="HTTP 503"`, "within=1m0s"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
}
