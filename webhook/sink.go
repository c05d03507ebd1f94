package webhook

import (
	"context"
	"encoding/json"

	"github.com/calsync/calsync/events"
)

var _ events.Sink = (*Dispatcher)(nil)

// Publish makes the dispatcher a durable sink of the event log: the
// webhook events of the batch (presence.changed, sync.health; other types
// are not webhook events) are written to the outbox in one transaction
// before it returns. An error means nothing of the batch is stored; the
// producer publishes it again.
func (d *Dispatcher) Publish(ctx context.Context, evs []events.Event) error {
	batch := make([]Event, 0, len(evs))
	for _, ev := range evs {
		if ev.Type == EventPresenceChanged || ev.Type == EventSyncHealth {
			batch = append(batch, Event{EventType: ev.Type, Key: ev.Key, Payload: json.RawMessage(ev.Data)})
		}
	}
	if len(batch) == 0 {
		return nil
	}
	_, err := d.EnqueueBatch(ctx, batch)
	return err
}

// Wake makes every endpoint look for due messages now. A publisher that
// enqueues inside its own transaction (pgstore InTx) calls it after the
// commit: the wake of Enqueue itself came before the rows were visible.
func (d *Dispatcher) Wake() {
	for _, ep := range d.order {
		select {
		case ep.wake <- struct{}{}:
		default:
		}
	}
}
