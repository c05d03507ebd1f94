package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// countingOutbox counts the Enqueue calls (transactions) of an outbox.
type countingOutbox struct {
	store.Outbox
	mu    sync.Mutex
	calls int
	err   error
}

func (c *countingOutbox) Enqueue(ctx context.Context, msgs []store.OutboxMessage) ([]store.OutboxMessage, error) {
	c.mu.Lock()
	c.calls++
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c.Outbox.Enqueue(ctx, msgs)
}

func (c *countingOutbox) enqueueCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// drain takes every live message of an endpoint in delivery order (the
// oldest pending per key first) and returns the payload's "n" per key.
func drain(t *testing.T, ob store.Outbox, endpoint string) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	for range 100 {
		due, err := ob.Due(t.Context(), endpoint, t0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 0 {
			return out
		}
		for _, m := range due {
			var p struct{ N int }
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				t.Fatalf("payload %s: %v", m.Payload, err)
			}
			out[m.Key] = append(out[m.Key], p.N)
			if err := ob.MarkDelivered(t.Context(), m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatal("outbox does not drain")
	return nil
}

func TestEnqueueBatchOneTransactionKeepsOrderPerKey(t *testing.T) {
	ob := &countingOutbox{Outbox: memstore.New()}
	d, err := New(Options{Outbox: ob, Clock: clock.NewFake(t0), Endpoints: []Endpoint{
		endpoint("presence-only", "https://a.example.com/", EventPresenceChanged),
		endpoint("everything", "https://b.example.com/"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	events := []Event{
		{EventType: EventPresenceChanged, Key: "b@example.com", Payload: map[string]int{"n": 1}},
		{EventType: EventPresenceChanged, Key: "a@example.com", Payload: json.RawMessage(`{"n":2}`)},
		{EventType: EventSyncHealth, Key: "a@example.com", Payload: []byte(`{"n":3}`)},
		{EventType: EventPresenceChanged, Key: "b@example.com", Payload: map[string]int{"n": 4}},
		{EventType: EventPresenceChanged, Key: "a@example.com", Payload: map[string]int{"n": 5}},
		{EventType: EventPresenceChanged, Key: "b@example.com", Payload: map[string]int{"n": 6}},
	}
	ids, err := d.EnqueueBatch(t.Context(), events)
	if err != nil {
		t.Fatal(err)
	}
	if got := ob.enqueueCalls(); got != 1 {
		t.Errorf("outbox Enqueue calls = %d, want 1 transaction", got)
	}
	// 5 presence events × 2 endpoints + 1 health event × 1 endpoint.
	if len(ids) != 11 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 11 {
		t.Fatalf("ids = %v, want 11 distinct", ids)
	}
	tests := []struct {
		endpoint string
		want     map[string][]int
	}{
		{"presence-only", map[string][]int{"a@example.com": {2, 5}, "b@example.com": {1, 4, 6}}},
		{"everything", map[string][]int{"a@example.com": {2, 3, 5}, "b@example.com": {1, 4, 6}}},
	}
	for _, tc := range tests {
		got := drain(t, ob, tc.endpoint)
		for key, want := range tc.want {
			if !slices.Equal(got[key], want) {
				t.Errorf("%s %s: delivery order %v, want %v", tc.endpoint, key, got[key], want)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: keys %v, want %v", tc.endpoint, got, tc.want)
		}
	}
}

func TestEnqueueBatchRejectsWholeBatch(t *testing.T) {
	good := Event{EventType: EventPresenceChanged, Key: "a@example.com", Payload: map[string]int{"n": 1}}
	tests := []struct {
		name string
		bad  Event
		want string
	}{
		{"no key", Event{EventType: EventPresenceChanged, Payload: map[string]int{}}, "event 1: enqueue needs an event type and a key"},
		{"no type", Event{Key: "b@example.com", Payload: map[string]int{}}, "event 1: enqueue needs an event type and a key"},
		{"invalid JSON", Event{EventType: EventPresenceChanged, Key: "b@example.com", Payload: []byte(`{"n":`)}, "event 1: presence.changed payload is not valid JSON"},
		{"unencodable", Event{EventType: EventPresenceChanged, Key: "b@example.com", Payload: func() {}}, "event 1: encode presence.changed payload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ob := &countingOutbox{Outbox: memstore.New()}
			d, err := New(Options{Outbox: ob, Clock: clock.NewFake(t0), Endpoints: []Endpoint{endpoint("hook", "https://a.example.com/")}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.EnqueueBatch(t.Context(), []Event{good, tc.bad, good})
			if err == nil || !strings.HasPrefix(err.Error(), "webhook: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("EnqueueBatch error %v, want one containing %q", err, tc.want)
			}
			if ob.enqueueCalls() != 0 || pending(t, ob, "hook") != 0 {
				t.Errorf("a rejected batch reached the outbox (%d calls)", ob.enqueueCalls())
			}
		})
	}
}

func TestEnqueueBatchEdgeCases(t *testing.T) {
	ob := &countingOutbox{Outbox: memstore.New()}
	d, err := New(Options{Outbox: ob, Clock: clock.NewFake(t0), Endpoints: []Endpoint{endpoint("health", "https://a.example.com/", EventSyncHealth)}})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing to store: no events, or no endpoint subscribed.
	for _, events := range [][]Event{nil, {{EventType: EventPresenceChanged, Key: "a@example.com", Payload: map[string]int{}}}} {
		ids, err := d.EnqueueBatch(t.Context(), events)
		if err != nil || ids != nil {
			t.Errorf("EnqueueBatch(%v) = %v, %v; want nothing", events, ids, err)
		}
	}
	if ob.enqueueCalls() != 0 {
		t.Errorf("outbox Enqueue called %d times for nothing to store", ob.enqueueCalls())
	}
	// An outbox failure is returned wrapped.
	ob.err = store.ErrClosed
	_, err = d.EnqueueBatch(t.Context(), []Event{{EventType: EventSyncHealth, Key: "a@example.com", Payload: map[string]int{}}})
	if !errors.Is(err, store.ErrClosed) || !strings.HasPrefix(err.Error(), "webhook: enqueue 1 events: ") {
		t.Errorf("error = %v, want a wrapped ErrClosed", err)
	}
}

func TestEnqueueBatchIsDelivered(t *testing.T) {
	rc := newReceiver(t, time.Now, nil)
	ob := memstore.New()
	d, err := New(Options{Outbox: ob, Endpoints: []Endpoint{endpoint("hook", rc.srv.URL)}, Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, d)
	keys := []string{"a@example.com", "b@example.com", "c@example.com"}
	var events []Event
	for i := range 12 {
		events = append(events, Event{EventType: EventPresenceChanged, Key: keys[i%3], Payload: map[string]int{"n": i}})
	}
	if _, err := d.EnqueueBatch(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "batch delivered", func() bool { return len(rc.requests()) == len(events) && pending(t, ob, "hook") == 0 })
	byKey := map[string][]int{}
	for _, r := range rc.requests() {
		if r.VerifyErr != nil {
			t.Errorf("request %+v: %v", r, r.VerifyErr)
		}
		byKey[r.Key] = append(byKey[r.Key], r.N)
	}
	for i, k := range keys {
		want := []int{i, i + 3, i + 6, i + 9}
		if !slices.Equal(byKey[k], want) {
			t.Errorf("%s delivered %v, want %v", k, byKey[k], want)
		}
	}
}
