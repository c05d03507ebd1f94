package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/calsync/calsync/store"
)

const messageColumns = `id, seq, endpoint, key, event_type, payload, attempts, next_attempt,
	last_error, created_at, dead, dead_at, requeues, requeued_at`

func scanMessage(row pgx.Row) (store.OutboxMessage, error) {
	var (
		m                                 store.OutboxMessage
		seq                               int64
		next, created, deadAt, requeuedAt *time.Time
	)
	err := row.Scan(&m.ID, &seq, &m.Endpoint, &m.Key, &m.EventType, &m.Payload, &m.Attempts, &next,
		&m.LastError, &created, &m.Dead, &deadAt, &m.Requeues, &requeuedAt)
	if err != nil {
		return store.OutboxMessage{}, err
	}
	m.Seq = uint64(seq)
	m.Payload = emptyNil(m.Payload)
	m.NextAttempt, m.CreatedAt, m.DeadAt, m.RequeuedAt = fromNull(next), fromNull(created), fromNull(deadAt), fromNull(requeuedAt)
	return m, nil
}

func (s *Store) queryMessages(ctx context.Context, sql string, args ...any) ([]store.OutboxMessage, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.OutboxMessage, error) { return scanMessage(r) })
}

// Enqueue stores messages and returns them with ID and Seq set: all of
// them in one transaction, or none. An id that exists is ErrConflict.
func (s *Store) Enqueue(ctx context.Context, msgs []store.OutboxMessage) ([]store.OutboxMessage, error) {
	if err := store.ValidateOutboxMessages(msgs); err != nil {
		return nil, err
	}
	out := make([]store.OutboxMessage, len(msgs))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for i, m := range msgs {
			if m.ID == "" {
				m.ID = store.NewMessageID()
			}
			var seq int64
			err := tx.QueryRow(ctx, `INSERT INTO outbox (id, endpoint, key, event_type, payload, attempts,
				next_attempt, last_error, created_at, dead, requeues, requeued_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, $10, $11) RETURNING seq`,
				m.ID, m.Endpoint, m.Key, m.EventType, nonNil(m.Payload), m.Attempts, nullTime(m.NextAttempt),
				m.LastError, nullTime(m.CreatedAt), m.Requeues, nullTime(m.RequeuedAt)).Scan(&seq)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
				return fmt.Errorf("message id %q exists: %w", m.ID, store.ErrConflict)
			}
			if err != nil {
				return err
			}
			m.Seq = uint64(seq)
			m.Dead, m.DeadAt = false, time.Time{}
			m.NextAttempt, m.CreatedAt, m.RequeuedAt = utc(m.NextAttempt), utc(m.CreatedAt), utc(m.RequeuedAt)
			m.Payload = emptyNil(append([]byte(nil), m.Payload...))
			out[i] = m
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: enqueue: %w", err)
	}
	return out, nil
}

// Due returns up to limit (<= 0: all) deliverable messages of an endpoint:
// for each key its oldest live message, if that one's time has come.
func (s *Store) Due(ctx context.Context, endpoint string, now time.Time, limit int) ([]store.OutboxMessage, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if endpoint == "" {
		return nil, errors.New("pgstore: due messages need an endpoint name")
	}
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	// The heads are picked on narrow columns (the live index has them in
	// order); only the chosen rows are read in full.
	out, err := s.queryMessages(ctx, `SELECT `+messageColumns+` FROM outbox WHERE seq IN (
			SELECT seq FROM (
				SELECT DISTINCT ON (key) seq, next_attempt FROM outbox
				WHERE endpoint = $1 AND NOT dead ORDER BY key, seq
			) AS head
			WHERE next_attempt IS NULL OR next_attempt <= $2
			ORDER BY seq LIMIT $3)
		ORDER BY seq`, endpoint, now.UTC(), lim)
	if err != nil {
		return nil, fmt.Errorf("pgstore: due messages of %s: %w", endpoint, err)
	}
	return out, nil
}

// MarkDelivered removes a live message from the outbox.
func (s *Store) MarkDelivered(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE id = $1 AND NOT dead`, id)
	if err != nil {
		return fmt.Errorf("pgstore: mark delivered %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: mark delivered %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// MarkFailed records a failed attempt; f.Dead moves the message to the
// dead letters, which unblocks the next message of its key.
func (s *Store) MarkFailed(ctx context.Context, id string, f store.Failure) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	var deadAt *time.Time
	if f.Dead {
		deadAt = nullTime(f.At)
	}
	// The claim ends with the attempt (Claiming): any instance may retry.
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
		next_attempt = $3, dead = $4, dead_at = $5, claimed_by = NULL, claim_until = NULL WHERE id = $1 AND NOT dead`,
		id, f.Error, nullTime(f.Next), f.Dead, deadAt)
	if err != nil {
		return fmt.Errorf("pgstore: mark failed %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: mark failed %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// DeadLetters lists the dead messages q selects, oldest first.
func (s *Store) DeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.OutboxMessage, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var lim *int
	if q.Limit > 0 {
		lim = &q.Limit
	}
	out, err := s.queryMessages(ctx, `SELECT `+messageColumns+` FROM outbox
		WHERE dead AND ($1 = '' OR endpoint = $1) AND seq > $2 ORDER BY seq LIMIT $3`,
		q.Endpoint, int64(min(q.After, 1<<63-1)), lim)
	if err != nil {
		return nil, fmt.Errorf("pgstore: dead letters: %w", err)
	}
	return out, nil
}

// DeadLetter returns one dead message by id.
func (s *Store) DeadLetter(ctx context.Context, id string) (store.OutboxMessage, error) {
	if err := s.check(ctx); err != nil {
		return store.OutboxMessage{}, err
	}
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM outbox WHERE id = $1 AND dead`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.OutboxMessage{}, fmt.Errorf("pgstore: dead letter %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("pgstore: dead letter %q: %w", id, err)
	}
	return m, nil
}

// requeueSQL applies store.Requeued in SQL: the statements must agree.
const requeueSQL = `UPDATE outbox SET dead = false, dead_at = NULL, attempts = 0, claimed_by = NULL, claim_until = NULL,
	next_attempt = $2, requeued_at = $2, requeues = requeues + 1`

// RequeueDeadLetter moves one dead message back to the live outbox under
// its id and Seq.
func (s *Store) RequeueDeadLetter(ctx context.Context, id string, now time.Time) (store.OutboxMessage, error) {
	if err := s.check(ctx); err != nil {
		return store.OutboxMessage{}, err
	}
	m, err := scanMessage(s.pool.QueryRow(ctx, requeueSQL+` WHERE id = $1 AND dead RETURNING `+messageColumns, id, now.UTC()))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.OutboxMessage{}, fmt.Errorf("pgstore: requeue dead letter %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("pgstore: requeue dead letter %q: %w", id, err)
	}
	return m, nil
}

// RequeueDeadLetters moves every dead message of an endpoint back to the
// live outbox in one statement and returns how many.
func (s *Store) RequeueDeadLetters(ctx context.Context, endpoint string, now time.Time) (int, error) {
	if endpoint == "" {
		return 0, errors.New("pgstore: requeue dead letters needs an endpoint name")
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, requeueSQL+` WHERE endpoint = $1 AND dead`, endpoint, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("pgstore: requeue dead letters of %s: %w", endpoint, err)
	}
	return int(tag.RowsAffected()), nil
}

// OutboxStats counts pending and dead messages per endpoint.
func (s *Store) OutboxStats(ctx context.Context) (map[string]store.OutboxCount, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT endpoint, count(*) FILTER (WHERE NOT dead), count(*) FILTER (WHERE dead)
		FROM outbox GROUP BY endpoint`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: outbox stats: %w", err)
	}
	out := make(map[string]store.OutboxCount)
	var endpoint string
	var c store.OutboxCount
	_, err = pgx.ForEachRow(rows, []any{&endpoint, &c.Pending, &c.Dead}, func() error {
		out[endpoint] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: outbox stats: %w", err)
	}
	return out, nil
}
