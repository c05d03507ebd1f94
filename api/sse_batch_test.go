package api_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
	"github.com/calsync/calsync/webhook"
)

func batchChanges() []presence.Change {
	at := time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)
	prev := presence.Presence{User: "bob@example.com", Availability: presence.Available, ComputedAt: at}
	return []presence.Change{
		{User: "bob@example.com", At: at, Current: presence.Presence{User: "bob@example.com", Availability: presence.Busy, ComputedAt: at}, Previous: &prev},
		{User: "alice@example.com", At: at, Current: presence.Presence{User: "alice@example.com", Availability: presence.Tentative, ComputedAt: at}},
		{User: "bob@example.com", At: at, Current: presence.Presence{User: "bob@example.com", Availability: presence.OutOfOffice, ComputedAt: at}},
	}
}

// TestPresencePublisherBatch: a burst goes to the webhook sink and the
// stream with the same payloads, in order, under consecutive ids; a sink
// failure is returned (the scheduler publishes again) but the stream still
// gets the events.
func TestPresencePublisherBatch(t *testing.T) {
	for _, sinkErr := range []error{nil, errors.New("outbox full")} {
		hooks := &apitest.Webhooks{Err: sinkErr}
		log, err := events.NewLog(events.Options{Sinks: []events.Sink{hooks}, Clock: clock.NewFake(time.Unix(1000, 0))})
		if err != nil {
			t.Fatal(err)
		}
		sub, err := log.Subscribe(events.From{})
		if err != nil {
			t.Fatal(err)
		}
		first := log.LastID() + 1
		changes := batchChanges()
		if err := (api.PresencePublisher{Events: log}).PublishBatch(changes); !errors.Is(err, sinkErr) {
			t.Fatalf("PublishBatch with sink error %v = %v", sinkErr, err)
		}
		var datas []string
		for i, c := range changes {
			ev := <-sub.Events()
			want, _ := json.Marshal(api.ToPresenceChangedEvent(c))
			if ev.ID != first+uint64(i) || ev.Type != api.EventPresenceChanged || ev.Key != c.User || string(ev.Data) != string(want) {
				t.Errorf("event %d = {%d %s %s %s}, want {%d %s %s %s}", i, ev.ID, ev.Type, ev.Key, ev.Data, first+uint64(i), api.EventPresenceChanged, c.User, want)
			}
			datas = append(datas, string(ev.Data))
		}
		var hookDatas []string
		for _, h := range hooks.Events() {
			hookDatas = append(hookDatas, string(h.Payload))
		}
		if sinkErr == nil && !slices.Equal(hookDatas, datas) {
			t.Errorf("webhook payloads %v differ from stream data %v", hookDatas, datas)
		}
		log.Close()
	}
}

// TestPresencePublisherWithDispatcher checks the wiring with the real
// dispatcher: the batch lands in the outbox, one message per change.
func TestPresencePublisherWithDispatcher(t *testing.T) {
	ob := memstore.New()
	d, err := webhook.New(webhook.Options{Outbox: ob, Clock: clock.NewFake(time.Unix(1000, 0)),
		Endpoints: []webhook.Endpoint{{Name: "crm", URL: "https://crm.example.com/hook", Secret: "s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	log, err := events.NewLog(events.Options{Sinks: []events.Sink{d}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (api.PresencePublisher{Events: log}).PublishBatch(batchChanges()); err != nil {
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
		var ev api.PresenceChangedEvent
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
