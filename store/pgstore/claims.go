package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/store"
)

// Claiming returns a view of s whose Due claims what it returns for
// instance owner until claimTTL from now (database clock), so that
// several instances' webhook dispatchers on one outbox deliver each
// message once: a head claimed by another instance is skipped until that
// instance marks it delivered or failed, or its claim expires (it died).
// Only the head of each key is ever returned, so a key's messages still
// go out one after the other, across instances and failovers, and a
// message keeps its id (X-Calsync-Delivery) whoever sends it.
//
// Due with a limit (a delivery round) claims; Due without one (the
// dispatcher's look for its next wake-up, with a far-future now) only
// reads what this instance may take. claimTTL must be longer than one
// delivery attempt takes (the endpoint's timeout): an attempt still
// running when its claim expires may be sent again by another instance,
// under the same id.
func (s *Store) Claiming(owner string, claimTTL time.Duration) store.Store {
	return &claiming{Store: s, owner: owner, ttl: claimTTL}
}

type claiming struct {
	*Store
	owner string
	ttl   time.Duration
}

// claimable is the condition on the outbox row o that lets owner take it;
// it is on the locked row itself so that FOR UPDATE re-checks it against
// a claim committed by another instance meanwhile.
const claimable = `(o.claimed_by IS NULL OR o.claimed_by = $4 OR o.claim_until <= now())`

func (c *claiming) Due(ctx context.Context, endpoint string, now time.Time, limit int) ([]store.OutboxMessage, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	if endpoint == "" {
		return nil, errors.New("pgstore: due messages need an endpoint name")
	}
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	heads := `WITH head AS (
			SELECT DISTINCT ON (key) seq FROM outbox
			WHERE endpoint = $1 AND NOT dead ORDER BY key, seq)
		SELECT o.seq FROM outbox o JOIN head h ON o.seq = h.seq
		WHERE (o.next_attempt IS NULL OR o.next_attempt <= $2) AND NOT o.dead AND ` + claimable + `
		ORDER BY o.seq LIMIT $3`
	var sql string
	args := []any{endpoint, now.UTC(), lim, c.owner}
	if limit > 0 {
		// SKIP LOCKED: heads another instance is claiming right now are
		// left to it instead of waited for.
		sql = `UPDATE outbox SET claimed_by = $4, claim_until = now() + $5::interval
			WHERE seq IN (` + heads + ` FOR UPDATE OF o SKIP LOCKED)
			RETURNING ` + messageColumns
		args = append(args, c.ttl)
	} else {
		sql = `SELECT ` + messageColumns + ` FROM outbox WHERE seq IN (` + heads + `)`
	}
	out, err := c.queryMessages(ctx, `WITH due AS (`+sql+`) SELECT * FROM due ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: due messages of %s for %s: %w", endpoint, c.owner, err)
	}
	return out, nil
}
