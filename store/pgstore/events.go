package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/events"
)

// eventsChannel is the NOTIFY channel of new rows in events: a wake-up
// only; the table is the truth.
const eventsChannel = "calsync_events"

// eventsLockKey serializes appends to events (a transaction-level advisory
// lock). Ids come from a sequence, and sequence values are handed out
// before commit: without the lock, id 11 could commit before id 10 and a
// tailer that already read 11 would never see 10. Under the lock an id is
// taken and committed before the next transaction takes one, so commit
// order is id order and "id > last seen" skips nothing. "calsync" + 1.
const eventsLockKey = 0x63616c73796e64

// EventSink is the sink that appends published events to the cluster's
// event table (see Tail).
func (s *Store) EventSink() events.Sink { return eventSink{s} }

type eventSink struct{ s *Store }

// Publish appends the batch in one transaction and notifies the tailers
// (the notification is sent at commit).
func (e eventSink) Publish(ctx context.Context, evs []events.Event) error {
	err := e.s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(eventsLockKey)); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		for _, ev := range evs {
			batch.Queue(`INSERT INTO events (type, key, data) VALUES ($1, $2, $3)`, ev.Type, ev.Key, string(ev.Data))
		}
		batch.Queue(`SELECT pg_notify($1, '')`, eventsChannel)
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("pgstore: appending %d events to the cluster's event table: %w", len(evs), err)
	}
	return nil
}

// eventsAfter reads up to limit events with ids above after, in id order.
func (s *Store) eventsAfter(ctx context.Context, q querier, after uint64, limit int) ([]events.Event, error) {
	rows, err := q.Query(ctx, `SELECT id, type, key, data FROM events WHERE id > $1 ORDER BY id LIMIT $2`, int64(after), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Event, error) {
		var ev events.Event
		var id int64
		var data string
		err := r.Scan(&id, &ev.Type, &ev.Key, &data)
		ev.ID, ev.Data = uint64(id), []byte(data)
		return ev, err
	})
}

// querier is what eventsAfter needs of a pool or a connection.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
