package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The methods here serve the cluster coordinator: they work on all of an
// instance's leases at once (one statement per round, not one per
// mailbox) and judge expiry by the database's clock, so that instances
// whose clocks disagree still agree on who holds what.

// Placement is one mailbox's current lease holder and stored affinity group.
type Placement struct {
	SMTP string
	// Owner holds an unexpired lease on the mailbox; empty if nobody does.
	Owner string
	// Group is the affinity group the mailbox's last status recorded
	// (empty before it was ever discovered).
	Group string
}

// Placements lists, for the given mailboxes, who holds each now and its
// stored affinity group, in the order given.
func (s *Store) Placements(ctx context.Context, smtps []string) ([]Placement, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT u.smtp, coalesce(l.owner, ''), coalesce(m.status->>'group', '')
		FROM unnest($1::text[]) WITH ORDINALITY AS u(smtp, n)
		LEFT JOIN leases l ON l.smtp = u.smtp AND l.expires_at > now()
		LEFT JOIN mailboxes m ON m.smtp = u.smtp
		ORDER BY u.n`, smtps)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read placements: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Placement, error) {
		var p Placement
		return p, r.Scan(&p.SMTP, &p.Owner, &p.Group)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: read placements: %w", err)
	}
	return out, nil
}

// AcquireLeases claims each of smtps for owner for ttl (database clock)
// where it is free, expired or already owner's, and returns the epochs of
// the ones granted. Mailboxes another owner holds are left out.
func (s *Store) AcquireLeases(ctx context.Context, owner string, smtps []string, ttl time.Duration) (map[string]int64, error) {
	if owner == "" || ttl <= 0 {
		return nil, fmt.Errorf("pgstore: leases need an owner and a positive duration")
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO leases AS l (smtp, owner, expires_at, epoch)
		SELECT u.smtp, $1, now() + $3::interval, nextval('lease_epoch') FROM unnest($2::text[]) AS u(smtp)
		ON CONFLICT (smtp) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
			epoch = CASE WHEN l.owner = excluded.owner THEN l.epoch ELSE excluded.epoch END
		WHERE l.owner = excluded.owner OR l.expires_at <= now()
		RETURNING smtp, epoch`, owner, smtps, ttl)
	if err != nil {
		return nil, fmt.Errorf("pgstore: acquire leases for %s: %w", owner, err)
	}
	return collectEpochs(rows, "acquire leases for "+owner)
}

// RenewLeases extends every unexpired lease owner holds by ttl from now
// (database clock) and returns them with their epochs. A lease that
// expired is not renewed (another instance may have seen it expire).
func (s *Store) RenewLeases(ctx context.Context, owner string, ttl time.Duration) (map[string]int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `UPDATE leases SET expires_at = now() + $2::interval
		WHERE owner = $1 AND expires_at > now() RETURNING smtp, epoch`, owner, ttl)
	if err != nil {
		return nil, fmt.Errorf("pgstore: renew leases of %s: %w", owner, err)
	}
	return collectEpochs(rows, "renew leases of "+owner)
}

// ReleaseLeases gives up owner's leases on smtps (others' are untouched).
func (s *Store) ReleaseLeases(ctx context.Context, owner string, smtps []string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE owner = $1 AND smtp = ANY($2::text[])`, owner, smtps); err != nil {
		return fmt.Errorf("pgstore: release leases of %s: %w", owner, err)
	}
	return nil
}

func collectEpochs(rows pgx.Rows, what string) (map[string]int64, error) {
	out := map[string]int64{}
	var smtp string
	var epoch int64
	_, err := pgx.ForEachRow(rows, []any{&smtp, &epoch}, func() error {
		out[smtp] = epoch
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", what, err)
	}
	return out, nil
}
