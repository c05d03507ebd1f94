package app

import (
	"context"

	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/store/pgstore"
)

// clusterEventStream prepares the cluster's one event stream when the
// store is PostgreSQL and returns the log the API serves (nil otherwise:
// the API serves the event log itself). The producers' log gets the event
// table as its last sink; the returned log mirrors the table (tailEvents),
// so every instance's stream carries every instance's events under the
// table's ids. The mirror is the one with subscribers, so it takes the
// metrics (calsync_sse_events_published_total then counts the cluster's
// events as this instance received them).
func (a *App) clusterEventStream(opts *events.Options) (*events.Log, error) {
	pg, ok := a.store.(*pgstore.Store)
	if !ok || a.cluster == nil {
		return nil, nil
	}
	opts.Sinks = append(opts.Sinks, pg.EventSink())
	mirror, err := events.NewLog(events.Options{Numbered: true, Logger: opts.Logger, Registerer: opts.Registerer})
	if err != nil {
		return nil, err
	}
	opts.Registerer = nil
	// Nobody subscribes to the producers' log: a ring of one is enough.
	opts.History = 1
	a.onClose(mirror.Close)
	return mirror, nil
}

// tailEvents copies the event table into the API's stream until ctx ends
// (nothing outside a cluster).
func (a *App) tailEvents(ctx context.Context) error {
	pg, ok := a.store.(*pgstore.Store)
	if !ok || a.stream == a.events {
		return nil
	}
	pg.Tail(ctx, a.stream, pgstore.TailOptions{Logger: a.log.With("component", "events")})
	return nil
}
