// Package events is calsync's one event path. Producers (the presence
// scheduler, the engine's health reports) hand events to Log.Publish; the
// log first gives them to its durable sinks (the webhook outbox), then
// numbers them, keeps them in a ring buffer and fans them out to
// subscribers (the API's Server-Sent Events stream). Nothing polls.
//
// Two interfaces keep the seams small: Sink is anything that takes a batch
// of events (the webhook outbox today; a SIP presence connector later), and
// Log's Publish/Subscribe/LastID are what a multi-instance stream (for
// example one backed by PostgreSQL) would implement as well.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Event types calsync publishes.
const (
	// PresenceChanged: a user's published presence changed; Key is the user.
	PresenceChanged = "presence.changed"
	// SyncHealth: a mailbox's sync state or last error changed; Key is the
	// mailbox.
	SyncHealth = "sync.health"
	// StreamReset tells a resuming subscriber that events it missed are no
	// longer buffered: it must reload its state. Only subscribers see it.
	StreamReset = "stream.reset"
)

// Event is one published event.
type Event struct {
	// ID increases by one per event of a Log. Sinks see 0: they receive
	// the events before the log numbers them.
	ID uint64
	// Type is a token without spaces or colons (see the constants).
	Type string
	// Key is the user or mailbox the event is about; empty for events for
	// everyone. Webhooks deliver the events of one key in order.
	Key string
	// Data is the payload: JSON on one line (the stream's framing).
	Data json.RawMessage
}

// Sink takes a batch of events. A durable sink returns only once the
// events are safe (on disk); an error means they are not, and the
// producer publishes them again later. Sinks are called one batch at a
// time, in publication order.
type Sink interface {
	Publish(ctx context.Context, events []Event) error
}

// NewEvent encodes payload as the Data of an event of type typ about key.
func NewEvent(typ, key string, payload any) (Event, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("events: encoding a %s event for %q: %w", typ, key, err)
	}
	ev := Event{Type: typ, Key: key, Data: data}
	return ev, ev.check()
}

// check rejects what would break the stream's framing: an event type with
// spaces, colons or line breaks, data that is not one line of JSON.
func (ev Event) check() error {
	if ev.Type == "" || strings.ContainsAny(ev.Type, " \t\r\n:") {
		return fmt.Errorf("events: event type %q must be a non-empty token without spaces or colons", ev.Type)
	}
	if bytes.ContainsAny(ev.Data, "\r\n") || !json.Valid(ev.Data) {
		return fmt.Errorf("events: the data of a %s event for %q must be JSON on one line", ev.Type, ev.Key)
	}
	return nil
}
