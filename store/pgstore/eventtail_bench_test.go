package pgstore_test

import (
	"testing"

	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

// BenchmarkTailDelivery measures one event from Publish on one instance to
// a subscriber of another instance's stream: the INSERT under the advisory
// lock, the NOTIFY wake-up and the tailer's read. One event at a time, so
// ns/op is the latency.
func BenchmarkTailDelivery(b *testing.B) {
	url := pgtest.Database(b)
	ctx := b.Context()
	a, other := newEventInstance(ctx, b, url), newEventInstance(ctx, b, url)
	sub, err := other.mirror.Subscribe(events.From{})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	ev, _ := events.NewEvent(events.PresenceChanged, "u@x", map[string]string{"availability": "busy"})
	batch := []events.Event{ev}
	for b.Loop() {
		if err := a.pub.Publish(ctx, batch); err != nil {
			b.Fatal(err)
		}
		<-sub.Events()
	}
}
