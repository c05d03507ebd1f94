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
//
// A cluster lease lasts as long as its owner's registration in instances
// (Heartbeat): one heartbeat renews every lease an instance holds, and no
// lease row is written to renew it. Renewing rows would take their locks,
// and the fenced writes of the engine hold a share lock on their
// mailbox's lease row until they commit (fence.go): a renewal of a
// thousand rows then waits for every write in flight, and every new write
// waits behind the renewal — on a busy instance renewals missed the lease
// deadline and the instance dropped all its mailboxes. Only a takeover or
// a release writes a lease row, and that must wait for a write in flight.
// The row's own expires_at is set to the grant's time and not used here;
// it serves the single-mailbox lease API (leases.go), which no cluster
// uses.

// leaseAlive is the SQL condition that the lease row l is held: its
// owner's registration i (joined on i.id = l.owner) has not run out, or
// the row's own expiry (single-mailbox API) has not.
const leaseAlive = `(l.expires_at > now() OR i.expires_at > now())`

// Placement is one mailbox's current lease holder and stored affinity group.
type Placement struct {
	SMTP string
	// Owner holds a live lease on the mailbox; empty if nobody does.
	Owner string
	// Group is the affinity group the mailbox's last status recorded or,
	// before it has one, the group a coordinator learnt for it
	// (SaveGroups); empty when neither is known.
	Group string
	// Learnt is true when the group is known or was looked for: a status
	// with a group, or a SaveGroups row (whose group may be empty: no
	// answer). A mailbox not Learnt and not held is waiting for its group.
	Learnt bool
	// Expires is how long Owner's lease lasts from now unless its
	// registration is renewed (database clock; 0 without an owner).
	Expires time.Duration
}

// Placements lists, for the given mailboxes, who holds each now and its
// affinity group (the last status's, else the one learnt), in the order
// given.
func (s *Store) Placements(ctx context.Context, smtps []string) ([]Placement, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.coord.Query(ctx, `SELECT u.smtp,
			CASE WHEN `+leaseAlive+` THEN l.owner ELSE '' END,
			coalesce(nullif(m.status->>'group', ''), g.grp, ''),
			coalesce(m.status->>'group', '') <> '' OR g.smtp IS NOT NULL,
			CASE WHEN `+leaseAlive+` THEN `+remainingMicros("greatest(l.expires_at, i.expires_at)")+` ELSE 0 END
		FROM unnest($1::text[]) WITH ORDINALITY AS u(smtp, n)
		LEFT JOIN leases l ON l.smtp = u.smtp
		LEFT JOIN instances i ON i.id = l.owner
		LEFT JOIN mailboxes m ON m.smtp = u.smtp
		LEFT JOIN mailbox_groups g ON g.smtp = u.smtp
		ORDER BY u.n`, smtps)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read placements: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Placement, error) {
		var p Placement
		var left int64
		err := r.Scan(&p.SMTP, &p.Owner, &p.Group, &p.Learnt, &left)
		p.Expires = time.Duration(left) * time.Microsecond
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: read placements: %w", err)
	}
	return out, nil
}

// AcquireLeases claims each of smtps for owner where it is free, no longer
// held (its owner's registration ran out) or already owner's, and returns
// the epochs of the ones granted. Mailboxes another owner holds are left
// out. The leases last while owner's registration does (Heartbeat).
func (s *Store) AcquireLeases(ctx context.Context, owner string, smtps []string) (map[string]int64, error) {
	if owner == "" {
		return nil, fmt.Errorf("pgstore: leases need an owner")
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.coord.Query(ctx, `INSERT INTO leases AS l (smtp, owner, expires_at, epoch)
		SELECT u.smtp, $1, now(), nextval('lease_epoch') FROM unnest($2::text[]) AS u(smtp)
		ON CONFLICT (smtp) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
			epoch = CASE WHEN l.owner = excluded.owner THEN l.epoch ELSE excluded.epoch END
		WHERE l.owner = excluded.owner OR NOT (l.expires_at > now()
			OR EXISTS (SELECT 1 FROM instances i WHERE i.id = l.owner AND i.expires_at > now()))
		RETURNING smtp, epoch`, owner, smtps)
	if err != nil {
		return nil, fmt.Errorf("pgstore: acquire leases for %s: %w", owner, err)
	}
	return collectEpochs(rows, "acquire leases for "+owner)
}

// HeldLeases returns the leases owner holds, with their epochs: none when
// its registration ran out (another instance may have seen them expire;
// a heartbeat brings back those nobody took over, under the same epoch).
func (s *Store) HeldLeases(ctx context.Context, owner string) (map[string]int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.coord.Query(ctx, `SELECT l.smtp, l.epoch FROM leases l
		JOIN instances i ON i.id = l.owner
		WHERE l.owner = $1 AND i.expires_at > now()`, owner)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read leases of %s: %w", owner, err)
	}
	return collectEpochs(rows, "read leases of "+owner)
}

// ReleaseLeases gives up owner's leases on smtps (others' are untouched).
func (s *Store) ReleaseLeases(ctx context.Context, owner string, smtps []string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, err := s.coord.Exec(ctx, `DELETE FROM leases WHERE owner = $1 AND smtp = ANY($2::text[])`, owner, smtps); err != nil {
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
