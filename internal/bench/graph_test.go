package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunSmallGraph: the Graph bench loads 40 cloud mailboxes over delta,
// sees every change, is not throttled and reports delta requests per
// mailbox.
func TestRunSmallGraph(t *testing.T) {
	r := runSmallGraph(t, false)
	if got := r.LoadCounts.Requests["GET users/{id}/calendarView/delta"]; got < 40 {
		t.Errorf("delta requests up to all live = %d, want at least one per mailbox (40); all: %v", got, r.LoadCounts.Requests)
	}
}

// TestRunSmallGraphWebhook: in webhook mode every mailbox is subscribed
// and the changes arrive by notification (the safety-net round is an hour
// away).
func TestRunSmallGraphWebhook(t *testing.T) {
	r := runSmallGraph(t, true)
	if got := r.Counts.Requests["POST subscriptions"]; got < 40 {
		t.Errorf("subscriptions created = %d, want one per mailbox (40); all: %v", got, r.Counts.Requests)
	}
}

// runSmallGraph runs the Graph bench on 40 mailboxes, 5 changes, and
// checks what both modes share.
func runSmallGraph(t *testing.T, webhook bool) GraphResult {
	t.Helper()
	exe, stderr := simChild(t)
	cfg := GraphConfig{Mailboxes: 40, Changes: 5, DeltaInterval: time.Second, Webhook: webhook, SimExe: exe, Stderr: stderr}
	if webhook {
		cfg.DeltaInterval = time.Hour
	}
	r, err := RunGraph(context.Background(), cfg)
	if err != nil {
		t.Fatalf("RunGraph(%+v) error = %v\n%s", cfg, err, stderr.String())
	}
	if r.AllLive <= 0 || r.Samples != 5 || r.Lost != 0 {
		t.Errorf("RunGraph() = %+v, want all live and 5 change samples", r)
	}
	if len(r.Counts.Throttled) != 0 || r.Counts.MaxConcurrent > graphConcurrent {
		t.Errorf("429s %v, max concurrency %d: want none and ≤ %d", r.Counts.Throttled, r.Counts.MaxConcurrent, graphConcurrent)
	}
	var out bytes.Buffer
	WriteGraphTable(&out, []GraphResult{r})
	if !strings.Contains(out.String(), "| 40 cloud mailboxes |") || !strings.Contains(out.String(), "| inside Graph's per-mailbox limits | yes |") {
		t.Errorf("table:\n%s", out.String())
	}
	return r
}

func TestGraphOperation(t *testing.T) {
	for _, c := range []struct{ method, path, op, box string }{
		{"GET", "/v1.0/users/A@x.example/calendarView/delta", "GET users/{id}/calendarView/delta", "a@x.example"},
		{"GET", "/v1.0/users/a@x.example/events/AAMk=", "GET users/{id}/events", "a@x.example"},
		{"POST", "/bench.onmicrosoft.com/oauth2/v2.0/token", "POST token", ""},
		{"POST", "/v1.0/$batch", "POST $batch", ""},
	} {
		op, box := graphOperation(c.method, c.path)
		if op != c.op || box != c.box {
			t.Errorf("graphOperation(%s %s) = %q, %q; want %q, %q", c.method, c.path, op, box, c.op, c.box)
		}
	}
}
