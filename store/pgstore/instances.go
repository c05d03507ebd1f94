package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Members is what a heartbeat sees of the cluster.
type Members struct {
	// Alive are the instances registered now, sorted by id, the caller
	// included.
	Alive []string
	// NextExpiry is how long until the first other instance's
	// registration runs out unless it heartbeats again (0: no other
	// instance). A live instance renews well before; one that died drops
	// out then, and the coordinator looks again at that moment.
	NextExpiry time.Duration
}

// Heartbeat registers instance id as alive for ttl from now on the
// database's clock (creating its row on first call) with the URL its API
// answers at and the clock skew it measured, and returns the instances
// alive now. It renews every lease id holds (leaseset.go).
func (s *Store) Heartbeat(ctx context.Context, id, apiURL string, ttl, skew time.Duration) (Members, error) {
	var m Members
	if err := s.check(ctx); err != nil {
		return m, err
	}
	err := pgx.BeginFunc(ctx, s.coord, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO instances AS i (id, started_at, heartbeat_at, expires_at, skew_ms, api_url)
			VALUES ($1, now(), now(), now() + $2::interval, $3, $4)
			ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), expires_at = excluded.expires_at, skew_ms = excluded.skew_ms,
				api_url = excluded.api_url`,
			id, ttl, skew.Milliseconds(), apiURL); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, `+remainingMicros("expires_at")+` FROM instances WHERE expires_at > now() ORDER BY id`)
		if err != nil {
			return err
		}
		var other string
		var left int64
		_, err = pgx.ForEachRow(rows, []any{&other, &left}, func() error {
			m.Alive = append(m.Alive, other)
			if d := time.Duration(left) * time.Microsecond; other != id && (m.NextExpiry == 0 || d < m.NextExpiry) {
				m.NextExpiry = max(d, time.Microsecond)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return Members{}, fmt.Errorf("pgstore: heartbeat of instance %s: %w", id, err)
	}
	return m, nil
}

// remainingMicros is the SQL for the microseconds from now (database
// clock) until the timestamptz column col.
func remainingMicros(col string) string {
	return "(extract(epoch FROM " + col + " - now()) * 1000000)::bigint"
}

// Deregister removes instance id (a clean shutdown), so that the others
// rebalance at once instead of after its TTL.
func (s *Store) Deregister(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, err := s.coord.Exec(ctx, `DELETE FROM instances WHERE id = $1`, id); err != nil {
		return fmt.Errorf("pgstore: deregister instance %s: %w", id, err)
	}
	return nil
}

// instanceSkews lists the instances alive now with the skew each reported.
func (s *Store) instanceSkews(ctx context.Context) ([]InstanceSkew, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, heartbeat_at, skew_ms FROM instances WHERE expires_at > now() ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list instances: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InstanceSkew, error) {
		var in InstanceSkew
		var ms int64
		err := r.Scan(&in.ID, &in.LastSeen, &ms)
		in.Skew = time.Duration(ms) * time.Millisecond
		return in, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list instances: %w", err)
	}
	return out, nil
}

// OwnerAPI returns the instance holding an unexpired lease on smtp and the
// URL its API answers at, or two empty strings when nobody does.
func (s *Store) OwnerAPI(ctx context.Context, smtp string) (owner, apiURL string, err error) {
	if err := s.check(ctx); err != nil {
		return "", "", err
	}
	err = s.pool.QueryRow(ctx, `SELECT l.owner, i.api_url FROM leases l JOIN instances i ON i.id = l.owner
		WHERE l.smtp = $1 AND i.expires_at > now()`, smtp).Scan(&owner, &apiURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("pgstore: owner of %s: %w", smtp, err)
	}
	return owner, apiURL, nil
}
