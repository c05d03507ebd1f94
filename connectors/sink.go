package connectors

import (
	"context"
	"encoding/json"

	"github.com/calsync/calsync/events"
)

var _ events.Sink = (*Runner)(nil)

// presenceChanged is the part of a presence.changed event a connector
// reads (the event's JSON is the API's PresenceChangedEvent).
type presenceChanged struct {
	User    string `json:"user"`
	Current State  `json:"current"`
}

// Publish makes the runner a sink of the event log: each presence.changed
// event sets its user's state. It only records and never fails: the
// connector's durability is the scheduler's stored presence, read again
// at start (Options.Initial), and the target's own progress.
func (r *Runner) Publish(_ context.Context, evs []events.Event) error {
	for _, ev := range evs {
		if ev.Type != events.PresenceChanged {
			continue
		}
		var c presenceChanged
		if err := json.Unmarshal(ev.Data, &c); err != nil || c.User == "" {
			r.opts.Logger.Warn("connector: ignoring an unreadable presence.changed event", "connector", r.opts.Name, "key", ev.Key, "err", err)
			continue
		}
		r.Set(c.User, c.Current)
	}
	return nil
}
