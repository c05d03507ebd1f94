package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Heartbeat registers instance id as alive for ttl from now on the
// database's clock (creating its row on first call) with the URL its API
// answers at and the clock skew it measured. It returns the instances
// alive now, sorted by id, this one included.
func (s *Store) Heartbeat(ctx context.Context, id, apiURL string, ttl, skew time.Duration) ([]string, error) {
	var live []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO instances AS i (id, started_at, heartbeat_at, expires_at, skew_ms, api_url)
			VALUES ($1, now(), now(), now() + $2::interval, $3, $4)
			ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), expires_at = excluded.expires_at, skew_ms = excluded.skew_ms,
				api_url = excluded.api_url`,
			id, ttl, skew.Milliseconds(), apiURL); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM instances WHERE expires_at > now() ORDER BY id`)
		if err != nil {
			return err
		}
		live, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: heartbeat of instance %s: %w", id, err)
	}
	return live, nil
}

// Deregister removes instance id (a clean shutdown), so that the others
// rebalance at once instead of after its TTL.
func (s *Store) Deregister(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM instances WHERE id = $1`, id); err != nil {
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
		WHERE l.smtp = $1 AND l.expires_at > now() AND i.expires_at > now()`, smtp).Scan(&owner, &apiURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("pgstore: owner of %s: %w", smtp, err)
	}
	return owner, apiURL, nil
}
