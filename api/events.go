package api

import (
	"context"
	"fmt"

	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// The API defines the JSON of the events calsync publishes (the stream and
// webhooks carry the same bytes); these functions turn domain changes into
// events for the event log.

// PresenceChangedEvents returns one presence.changed event per change, in
// order, keyed by the user.
func PresenceChangedEvents(changes []presence.Change) ([]events.Event, error) {
	out := make([]events.Event, 0, len(changes))
	for _, c := range changes {
		ev, err := events.NewEvent(EventPresenceChanged, c.User, ToPresenceChangedEvent(c))
		if err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// SyncHealthEvent returns the sync.health event of a mailbox status.
func SyncHealthEvent(st store.MailboxStatus) (events.Event, error) {
	ev, err := events.NewEvent(EventSyncHealth, st.SMTP, ToSyncStatusDTO(st))
	if err != nil {
		return events.Event{}, fmt.Errorf("api: %w", err)
	}
	return ev, nil
}

// PresencePublisher publishes presence changes as presence.changed events
// on an event sink (the event log). Its PublishBatch is the presence
// scheduler's PublishBatch: it returns once the log's durable sinks (the
// webhook outbox) hold the batch, or with their error, after which the
// scheduler publishes the changes again.
type PresencePublisher struct {
	Events events.Sink
}

// PublishBatch publishes the changes due at one instant, in order.
func (p PresencePublisher) PublishBatch(changes []presence.Change) error {
	// The scheduler gives no context; a durable write is bounded by the
	// store, not by a caller's deadline.
	return p.Publish(context.Background(), changes...)
}

// Publish publishes changes with a caller's context.
func (p PresencePublisher) Publish(ctx context.Context, changes ...presence.Change) error {
	evs, err := PresenceChangedEvents(changes)
	if err != nil {
		return err
	}
	return p.Events.Publish(ctx, evs)
}
