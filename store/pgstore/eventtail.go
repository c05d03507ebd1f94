package pgstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/events"
)

// TailOptions configures Tail; zero values take the defaults.
type TailOptions struct {
	// Poll is how long the tailer waits for a notification before it reads
	// the table anyway (a lost notification costs at most this much
	// latency), and the pause before reconnecting (default 1 s).
	Poll time.Duration
	// History is how many of the table's latest events are loaded at start,
	// so that a client moved from another instance resumes (default 16384,
	// the ring buffer's default).
	History int
	// Keep is how many events the table retains; older ones are deleted
	// every minute (default 100,000).
	Keep   int
	Logger *slog.Logger
}

// Tail copies the cluster's event table into log (a Numbered events.Log)
// until ctx ends: the latest History events first, then every new row, in
// id order. It wakes on NOTIFY and reads the table every Poll anyway, and
// reconnects after losing its connection, continuing after the last id it
// appended. Every instance runs one; each also trims the table to Keep
// events.
func (s *Store) Tail(ctx context.Context, log *events.Log, o TailOptions) {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.History <= 0 {
		o.History = 16384
	}
	if o.Keep <= 0 {
		o.Keep = 100000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	t := &tailer{s: s, log: log, o: o, after: log.LastID()}
	for ctx.Err() == nil {
		err := t.run(ctx)
		if ctx.Err() != nil {
			return
		}
		o.Logger.Warn("events: lost the cluster event table's connection; reconnecting", "after", o.Poll, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(o.Poll):
		}
	}
}

type tailer struct {
	s       *Store
	log     *events.Log
	o       TailOptions
	after   uint64
	started bool
	trimmed time.Time
}

// run listens on one connection until it fails.
func (t *tailer) run(ctx context.Context) error {
	pc, err := t.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool: it stays LISTENing, and is closed
	// (not reused) when it fails.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+eventsChannel); err != nil {
		return err
	}
	if !t.started {
		var max int64
		if err := conn.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&max); err != nil {
			return err
		}
		if from := max - int64(t.o.History); from > int64(t.after) {
			t.after = uint64(from)
		}
		t.started = true
	}
	for {
		// Listening before reading: a row committed after this read
		// notifies this connection.
		if err := t.catchUp(ctx, conn); err != nil {
			return err
		}
		t.trim(ctx, conn)
		wait, cancel := context.WithTimeout(ctx, t.o.Poll)
		_, err := conn.WaitForNotification(wait)
		cancel()
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// catchUp appends every row after t.after.
func (t *tailer) catchUp(ctx context.Context, conn *pgx.Conn) error {
	for {
		evs, err := t.s.eventsAfter(ctx, conn, t.after, 1000)
		if err != nil || len(evs) == 0 {
			return err
		}
		if err := t.log.Append(evs); err != nil {
			// Only a table reset (ids restarted) gets here: follow it.
			t.o.Logger.Error("events: the cluster event table's ids went backwards; following it", "err", err)
		}
		t.after = evs[len(evs)-1].ID
	}
}

// trim deletes the events beyond Keep, once a minute.
func (t *tailer) trim(ctx context.Context, conn *pgx.Conn) {
	if time.Since(t.trimmed) < time.Minute {
		return
	}
	t.trimmed = time.Now()
	if _, err := conn.Exec(ctx, `DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - $1`, t.o.Keep); err != nil {
		t.o.Logger.Warn("events: trimming the cluster event table", "err", err)
	}
}
