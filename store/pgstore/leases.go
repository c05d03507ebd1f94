package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/store"
)

// AcquireLease claims a mailbox for owner until now+ttl, or renews owner's
// claim. Another owner's unexpired lease is ErrConflict.
func (s *Store) AcquireLease(ctx context.Context, smtp, owner string, now time.Time, ttl time.Duration) error {
	_, err := s.AcquireLeaseEpoch(ctx, smtp, owner, now, ttl)
	return err
}

// AcquireLeaseEpoch is AcquireLease that also returns the lease's epoch,
// the fencing token of Fenced. A new owner gets a new epoch from the
// lease_epoch sequence, higher than any before, even after a release; a
// renewal keeps the epoch.
func (s *Store) AcquireLeaseEpoch(ctx context.Context, smtp, owner string, now time.Time, ttl time.Duration) (int64, error) {
	if owner == "" || ttl <= 0 {
		return 0, fmt.Errorf("pgstore: lease on %s needs an owner and a positive duration", smtp)
	}
	var epoch int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO leases AS l (smtp, owner, expires_at, epoch)
			VALUES ($1, $2, $4, nextval('lease_epoch'))
			ON CONFLICT (smtp) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
				epoch = CASE WHEN l.owner = excluded.owner THEN l.epoch ELSE excluded.epoch END
			WHERE l.owner = excluded.owner OR l.expires_at <= $3
			RETURNING epoch`,
			smtp, owner, now.UTC(), now.Add(ttl).UTC()).Scan(&epoch)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err // granted (nil) or failed
		}
		var holder string
		var until time.Time
		if err := tx.QueryRow(ctx, `SELECT owner, expires_at FROM leases WHERE smtp = $1`, smtp).Scan(&holder, &until); err != nil {
			return err
		}
		return fmt.Errorf("held by %s until %s: %w", holder, until.UTC().Format(time.RFC3339), store.ErrConflict)
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: lease on %s: %w", smtp, err)
	}
	return epoch, nil
}

// ReleaseLease gives up owner's lease on a mailbox; a lease not held is a
// no-op, another owner's lease is ErrConflict.
func (s *Store) ReleaseLease(ctx context.Context, smtp, owner string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var holder string
		err := tx.QueryRow(ctx, `SELECT owner FROM leases WHERE smtp = $1 FOR UPDATE`, smtp).Scan(&holder)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if holder != owner {
			return fmt.Errorf("held by %s, not %s: %w", holder, owner, store.ErrConflict)
		}
		_, err = tx.Exec(ctx, `DELETE FROM leases WHERE smtp = $1`, smtp)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: release lease on %s: %w", smtp, err)
	}
	return nil
}
