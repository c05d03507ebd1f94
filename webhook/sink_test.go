package webhook

import (
	"errors"
	"testing"

	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store/memstore"
)

func TestPublishIsOneDurableWriteOfTheWebhookEvents(t *testing.T) {
	ob := &countingOutbox{Outbox: memstore.New()}
	d, err := New(Options{Outbox: ob, Clock: clock.NewFake(t0), Endpoints: []Endpoint{endpoint("all", "https://a.example.com/")}})
	if err != nil {
		t.Fatal(err)
	}
	batch := []events.Event{
		{Type: events.PresenceChanged, Key: "b@example.com", Data: []byte(`{"n":1}`)},
		{Type: "note", Data: []byte(`{"n":99}`)}, // not a webhook event
		{Type: events.SyncHealth, Key: "a@example.com", Data: []byte(`{"n":2}`)},
		{Type: events.PresenceChanged, Key: "b@example.com", Data: []byte(`{"n":3}`)},
	}
	if err := d.Publish(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if ob.enqueueCalls() != 1 {
		t.Errorf("outbox transactions = %d, want 1", ob.enqueueCalls())
	}
	got := drain(t, ob, "all")
	if len(got) != 2 || len(got["b@example.com"]) != 2 || got["b@example.com"][1] != 3 || got["a@example.com"][0] != 2 {
		t.Errorf("outbox per key = %v, want b: [1 3], a: [2] (the note is not a webhook event)", got)
	}

	if err := d.Publish(t.Context(), []events.Event{{Type: "note", Data: []byte(`{}`)}}); err != nil || ob.enqueueCalls() != 1 {
		t.Errorf("a batch without webhook events: err %v, %d transactions; want no write", err, ob.enqueueCalls())
	}
	ob.err = errors.New("disk full")
	if err := d.Publish(t.Context(), batch); !errors.Is(err, ob.err) {
		t.Errorf("Publish with a failing outbox = %v, want its error", err)
	}
}
