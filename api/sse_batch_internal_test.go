package api

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
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
	"github.com/calsync/calsync/webhook"
)

// sinkCall is one call a recordingSink received.
type sinkCall struct {
	batch  bool
	keys   []string
	datas  []string
	lastID uint64 // the hub's last event id when the call happened
}

// recordingSink is a WebhookSink, optionally a BatchWebhookSink (batch).
type recordingSink struct {
	hub *Hub
	err error

	mu    sync.Mutex
	calls []sinkCall
}

func (r *recordingSink) record(c sinkCall) error {
	c.lastID = r.hub.LastID()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	return r.err
}

func (r *recordingSink) Enqueue(_ context.Context, eventType, key string, payload any) ([]string, error) {
	if eventType != EventPresenceChanged {
		return nil, errors.New("unexpected event type " + eventType)
	}
	return []string{"id"}, r.record(sinkCall{keys: []string{key}, datas: []string{string(payload.(json.RawMessage))}})
}

func (r *recordingSink) all() []sinkCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// recordingBatchSink adds EnqueueBatch to recordingSink.
type recordingBatchSink struct{ *recordingSink }

func (r recordingBatchSink) EnqueueBatch(_ context.Context, events []webhook.Event) ([]string, error) {
	c := sinkCall{batch: true}
	for _, ev := range events {
		if ev.EventType != EventPresenceChanged {
			return nil, errors.New("unexpected event type " + ev.EventType)
		}
		c.keys = append(c.keys, ev.Key)
		c.datas = append(c.datas, string(ev.Payload.(json.RawMessage)))
	}
	return []string{"id"}, r.record(c)
}

func batchChanges() []presence.Change {
	at := time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)
	prev := presence.Presence{User: "bob@example.com", Availability: presence.Available, ComputedAt: at}
	return []presence.Change{
		{User: "bob@example.com", At: at, Current: presence.Presence{User: "bob@example.com", Availability: presence.Busy, ComputedAt: at}, Previous: &prev},
		{User: "alice@example.com", At: at, Current: presence.Presence{User: "alice@example.com", Availability: presence.Tentative, ComputedAt: at}},
		{User: "bob@example.com", At: at, Current: presence.Presence{User: "bob@example.com", Availability: presence.OutOfOffice, ComputedAt: at}},
	}
}

func TestPublishPresenceBatch(t *testing.T) {
	sinkErr := errors.New("outbox full")
	tests := []struct {
		name      string
		batchSink bool
		sinkErr   error
		wantCalls int // webhook sink calls
	}{
		{"batch sink", true, nil, 1},
		{"single sink", false, nil, 3},
		{"batch sink fails", true, sinkErr, 1},
		{"single sink fails", false, sinkErr, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingSink{err: tc.sinkErr}
			var sink WebhookSink = rec
			if tc.batchSink {
				sink = recordingBatchSink{rec}
			}
			h, err := NewHub(HubOptions{Webhooks: sink, Clock: clock.NewFake(time.Unix(1000, 0))})
			if err != nil {
				t.Fatal(err)
			}
			rec.hub = h
			client, _, _, _, err := h.subscribe(0, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			first := h.LastID() + 1
			changes := batchChanges()
			err = h.PublishPresenceBatch(t.Context(), changes)
			if tc.sinkErr == nil && err != nil {
				t.Fatalf("PublishPresenceBatch: %v", err)
			}
			if tc.sinkErr != nil && (!errors.Is(err, tc.sinkErr) || !strings.HasPrefix(err.Error(), "api: enqueueing")) {
				t.Fatalf("PublishPresenceBatch error %v, want the wrapped webhook failure", err)
			}

			// The stream gets every change, in order, under consecutive ids,
			// even when the webhook enqueue failed.
			var datas []string
			for i, c := range changes {
				ev := <-client.events
				want, _ := json.Marshal(ToPresenceChangedEvent(c))
				if ev.ID != first+uint64(i) || ev.Type != EventPresenceChanged || ev.Key != c.User || string(ev.Data) != string(want) {
					t.Errorf("event %d = {%d %s %s %s}, want {%d %s %s %s}", i, ev.ID, ev.Type, ev.Key, ev.Data, first+uint64(i), EventPresenceChanged, c.User, want)
				}
				datas = append(datas, string(ev.Data))
			}
			if n := len(client.events); n != 0 {
				t.Errorf("%d extra events on the stream", n)
			}

			// The webhooks got the same payloads, in order, before the
			// stream events went out.
			calls := rec.all()
			if len(calls) != tc.wantCalls {
				t.Fatalf("webhook sink calls = %d, want %d", len(calls), tc.wantCalls)
			}
			var keys, hookDatas []string
			for _, c := range calls {
				if c.batch != tc.batchSink {
					t.Errorf("sink call batch=%v, want %v", c.batch, tc.batchSink)
				}
				if c.lastID != first-1 {
					t.Errorf("webhook enqueued after stream event %d, want before any", c.lastID)
				}
				keys = append(keys, c.keys...)
				hookDatas = append(hookDatas, c.datas...)
			}
			if want := []string{"bob@example.com", "alice@example.com", "bob@example.com"}; !slices.Equal(keys, want) {
				t.Errorf("webhook keys = %v, want %v", keys, want)
			}
			if !slices.Equal(hookDatas, datas) {
				t.Errorf("webhook payloads %v differ from stream data %v", hookDatas, datas)
			}
		})
	}
}

func TestPublishPresenceBatchEdgeCases(t *testing.T) {
	rec := &recordingSink{}
	h, err := NewHub(HubOptions{Webhooks: recordingBatchSink{rec}, Clock: clock.NewFake(time.Unix(1000, 0))})
	if err != nil {
		t.Fatal(err)
	}
	rec.hub = h
	before := h.LastID()
	if err := h.PublishPresenceBatch(t.Context(), nil); err != nil || h.LastID() != before || len(rec.all()) != 0 {
		t.Errorf("an empty batch: err %v, %d events, %d webhook calls; want nothing", err, h.LastID()-before, len(rec.all()))
	}
	h.Close()
	if err := h.PublishPresenceBatch(t.Context(), batchChanges()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("publishing on a closed hub: %v, want an error", err)
	}
}

// TestPublishPresenceBatchWithDispatcher checks the wiring with the real
// dispatcher: the batch lands in the outbox, one message per change.
func TestPublishPresenceBatchWithDispatcher(t *testing.T) {
	ob := memstore.New()
	d, err := webhook.New(webhook.Options{Outbox: ob, Clock: clock.NewFake(time.Unix(1000, 0)),
		Endpoints: []webhook.Endpoint{{Name: "crm", URL: "https://crm.example.com/hook", Secret: "s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHub(HubOptions{Webhooks: d})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.PublishPresenceBatch(t.Context(), batchChanges()); err != nil {
		t.Fatal(err)
	}
	stats, err := ob.OutboxStats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats["crm"] != (store.OutboxCount{Pending: 3}) {
		t.Errorf("outbox = %+v, want 3 pending for crm", stats)
	}
	due, err := ob.Due(t.Context(), "crm", time.Unix(2000, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	// The oldest pending message per key: bob's first change, alice's.
	var got []string
	for _, m := range due {
		var ev PresenceChangedEvent
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Key+"="+string(ev.Current.Availability))
	}
	slices.Sort(got)
	if want := []string{"alice@example.com=tentative", "bob@example.com=busy"}; !slices.Equal(got, want) {
		t.Errorf("due = %v, want %v", got, want)
	}
}
