package webhook

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// switchable answers with the status stored in it (200 when unset).
type switchable struct{ status atomic.Int32 }

func (s *switchable) respond(received) int {
	if v := s.status.Load(); v != 0 {
		return int(v)
	}
	return http.StatusOK
}

func deadLetters(t *testing.T, d *Dispatcher, q store.DeadLetterQuery) []store.OutboxMessage {
	t.Helper()
	dead, err := d.DeadLetters(t.Context(), q)
	if err != nil {
		t.Fatalf("DeadLetters(%+v): %v", q, err)
	}
	return dead
}

// TestRetryDeadLetterAfterReceiverFixed: a receiver that always fails gets
// the delivery dead-lettered; the listing shows it with its last error;
// once the receiver works, a retry delivers it under the same id with the
// same body and a valid signature.
func TestRetryDeadLetterAfterReceiverFixed(t *testing.T) {
	fake := clock.NewFake(t0)
	sw := &switchable{}
	sw.status.Store(http.StatusInternalServerError)
	rc := newReceiver(t, fake.Now, sw.respond)
	ob := memstore.New()
	reg := prometheus.NewRegistry()
	d, err := New(Options{Outbox: ob, Clock: fake, Registerer: reg, Endpoints: []Endpoint{endpoint("hook", rc.srv.URL)},
		MaxAttempts: 1, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, d)
	ids, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]int{"n": 7})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "dead letter", func() bool { return len(deadLetters(t, d, store.DeadLetterQuery{})) == 1 })

	dead := deadLetters(t, d, store.DeadLetterQuery{Endpoint: "hook"})
	if len(dead) != 1 {
		t.Fatalf("DeadLetters(hook) = %+v, want the one dead letter", dead)
	}
	dl := dead[0]
	if dl.ID != ids[0] || dl.Endpoint != "hook" || dl.Key != "alice@example.com" || dl.EventType != EventPresenceChanged ||
		dl.Attempts != 1 || !strings.Contains(dl.LastError, "HTTP 500") || !dl.DeadAt.Equal(t0) || !dl.Dead {
		t.Errorf("dead letter = %+v, want id %s of hook for alice, 1 attempt, HTTP 500, dead at %s", dl, ids[0], t0)
	}
	if got := deadLetters(t, d, store.DeadLetterQuery{Endpoint: "other"}); len(got) != 0 {
		t.Errorf("DeadLetters(other) = %+v, want none", got)
	}
	testenv.WaitFor(t, "dead-letter gauge at 1", func() bool {
		return counterValue(t, reg, "calsync_webhook_dead_letters", map[string]string{"endpoint": "hook"}) == 1
	})

	sw.status.Store(http.StatusNoContent) // the receiver is fixed
	fake.Advance(time.Minute)
	m, err := d.RetryDeadLetter(t.Context(), ids[0])
	if err != nil {
		t.Fatalf("RetryDeadLetter: %v", err)
	}
	if m.ID != ids[0] || m.Dead || m.Attempts != 0 || m.Requeues != 1 || !m.RequeuedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("RetryDeadLetter = %+v, want the same id live with 0 attempts, re-queued once at +1m", m)
	}
	testenv.WaitFor(t, "re-sent delivery acknowledged", func() bool { return pending(t, ob, "hook") == 0 && len(rc.requests()) == 2 })

	reqs := rc.requests()
	first, retry := reqs[0], reqs[1]
	if first.Status != http.StatusInternalServerError || retry.Status != http.StatusNoContent {
		t.Errorf("statuses = %d then %d, want 500 then 204", first.Status, retry.Status)
	}
	if retry.ID != ids[0] || retry.VerifyErr != nil || retry.Attempt != 1 {
		t.Errorf("re-sent delivery = id %s, attempt %d, verify %v; want id %s, attempt 1, a valid signature", retry.ID, retry.Attempt, retry.VerifyErr, ids[0])
	}
	if !bytes.Equal(retry.Body, first.Body) {
		t.Errorf("re-sent body differs:\n first %s\n retry %s", first.Body, retry.Body)
	}
	if got := deadLetters(t, d, store.DeadLetterQuery{}); len(got) != 0 {
		t.Errorf("dead letters after the retry = %+v", got)
	}
	if got := counterValue(t, reg, "calsync_webhook_requeued_total", map[string]string{"endpoint": "hook"}); got != 1 {
		t.Errorf("requeued counter = %v, want 1", got)
	}
	if got := counterValue(t, reg, "calsync_webhook_deliveries_total", map[string]string{"endpoint": "hook", "outcome": "dead"}); got != 1 {
		t.Errorf("dead counter = %v, want 1 (counters never go down)", got)
	}
	testenv.WaitFor(t, "dead-letter gauge back at 0", func() bool {
		return counterValue(t, reg, "calsync_webhook_dead_letters", map[string]string{"endpoint": "hook"}) == 0
	})
	if _, err := d.RetryDeadLetter(t.Context(), ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second RetryDeadLetter of a delivered message = %v, want store.ErrNotFound", err)
	}
}

// TestRetryDeadLettersOfEndpointKeepsOrderPerKey re-sends all dead letters
// of one endpoint: per key they arrive in their original order, one at a
// time, under their original ids.
func TestRetryDeadLettersOfEndpointKeepsOrderPerKey(t *testing.T) {
	sw := &switchable{}
	sw.status.Store(http.StatusGone)
	rc := newReceiver(t, time.Now, sw.respond)
	ob := memstore.New()
	reg := prometheus.NewRegistry()
	d, err := New(Options{Outbox: ob, Registerer: reg, Endpoints: []Endpoint{endpoint("hook", rc.srv.URL)}, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	var want []string // alice's ids in enqueue order
	for n := range 4 {
		ids, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]int{"n": n})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids[0])
		if _, err := d.Enqueue(t.Context(), EventPresenceChanged, "bob@example.com", map[string]int{"n": 10 + n}); err != nil {
			t.Fatal(err)
		}
	}
	startDispatcher(t, d)
	testenv.WaitFor(t, "every message dead-lettered", func() bool { return pending(t, ob, "hook") == 0 })
	if got := len(deadLetters(t, d, store.DeadLetterQuery{Endpoint: "hook"})); got != 8 {
		t.Fatalf("%d dead letters, want 8", got)
	}

	sw.status.Store(http.StatusOK)
	n, err := d.RetryDeadLetters(t.Context(), "hook")
	if err != nil || n != 8 {
		t.Fatalf("RetryDeadLetters(hook) = %d, %v; want 8", n, err)
	}
	testenv.WaitFor(t, "re-sent deliveries acknowledged", func() bool { return pending(t, ob, "hook") == 0 && len(rc.requests()) == 16 })
	var alice []string
	for i, r := range rc.requests()[8:] {
		if r.Status != http.StatusOK || r.VerifyErr != nil {
			t.Errorf("re-sent request %d = %+v", i, r)
		}
		if r.Key == "alice@example.com" {
			alice = append(alice, r.ID)
		}
	}
	if strings.Join(alice, ",") != strings.Join(want, ",") {
		t.Errorf("alice's re-sent deliveries = %v, want %v (original ids in enqueue order)", alice, want)
	}
	if got := counterValue(t, reg, "calsync_webhook_requeued_total", map[string]string{"endpoint": "hook"}); got != 8 {
		t.Errorf("requeued counter = %v, want 8", got)
	}
	if n, err := d.RetryDeadLetters(t.Context(), "hook"); n != 0 || err != nil {
		t.Errorf("RetryDeadLetters without dead letters = %d, %v; want 0, nil", n, err)
	}
}

// TestRetryDeadLetterRefusals: unknown ids and endpoints that are not
// configured are typed errors and change nothing.
func TestRetryDeadLetterRefusals(t *testing.T) {
	ob := memstore.New()
	d, err := New(Options{Outbox: ob, Clock: clock.NewFake(t0), Endpoints: []Endpoint{endpoint("hook", "https://hooks.example.com/")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.RetryDeadLetter(t.Context(), "no-such-id"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RetryDeadLetter(unknown id) = %v, want store.ErrNotFound", err)
	}
	// A dead letter of an endpoint removed from the configuration.
	msgs, err := ob.Enqueue(t.Context(), []store.OutboxMessage{{Endpoint: "gone", Key: "alice@example.com", EventType: EventPresenceChanged, Payload: []byte(`{}`), CreatedAt: t0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.MarkFailed(t.Context(), msgs[0].ID, store.Failure{Error: "HTTP 410", At: t0, Dead: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RetryDeadLetter(t.Context(), msgs[0].ID); !errors.Is(err, ErrUnknownEndpoint) || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("RetryDeadLetter of a removed endpoint's message = %v, want ErrUnknownEndpoint naming it", err)
	}
	if _, err := d.RetryDeadLetters(t.Context(), "gone"); !errors.Is(err, ErrUnknownEndpoint) {
		t.Errorf("RetryDeadLetters(gone) = %v, want ErrUnknownEndpoint", err)
	}
	dead := deadLetters(t, d, store.DeadLetterQuery{Endpoint: "gone"})
	if len(dead) != 1 || dead[0].ID != msgs[0].ID || dead[0].Requeues != 0 {
		t.Errorf("the removed endpoint's dead letter after refused retries = %+v, want it listed, still dead", dead)
	}
}

// TestRequeuedMessageGetsFreshAgeBound: the age bound counts from the
// re-queue, so an old message that fails once after a retry is retried
// rather than dead-lettered at once.
func TestRequeuedMessageGetsFreshAgeBound(t *testing.T) {
	fake := clock.NewFake(t0)
	sw := &switchable{}
	sw.status.Store(http.StatusGone)
	rc := newReceiver(t, fake.Now, sw.respond)
	ob := memstore.New()
	d, err := New(Options{Outbox: ob, Clock: fake, Endpoints: []Endpoint{endpoint("hook", rc.srv.URL)},
		MaxAge: time.Hour, MaxAttempts: 100, MinBackoff: time.Minute, MaxBackoff: time.Minute, PollInterval: 24 * time.Hour, Rand: func() float64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, d)
	ids, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "dead letter", func() bool { return len(deadLetters(t, d, store.DeadLetterQuery{})) == 1 })

	fake.Advance(2 * time.Hour) // older than MaxAge now
	sw.status.Store(http.StatusServiceUnavailable)
	if _, err := d.RetryDeadLetter(t.Context(), ids[0]); err != nil {
		t.Fatal(err)
	}
	var msgs []store.OutboxMessage
	testenv.WaitFor(t, "the re-sent attempt failed and was recorded", func() bool {
		msgs, _ = ob.Due(context.Background(), "hook", fake.Now().Add(time.Hour), 0)
		dead, _ := ob.DeadLetters(context.Background(), store.DeadLetterQuery{})
		return (len(msgs) == 1 && msgs[0].Attempts == 1) || (len(dead) == 1 && dead[0].Requeues == 1)
	})
	if dead := deadLetters(t, d, store.DeadLetterQuery{}); len(dead) != 0 {
		t.Fatalf("a re-queued message 2h old was dead-lettered after one failure (MaxAge 1h): %+v", dead)
	}
	if want := fake.Now().Add(30 * time.Second); !msgs[0].NextAttempt.Equal(want) || !strings.Contains(msgs[0].LastError, "HTTP 503") {
		t.Errorf("re-sent message after one failure = %+v, want a retry at %s", msgs[0], want)
	}
}
