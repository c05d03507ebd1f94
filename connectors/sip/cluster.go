package sip

import (
	"context"
	"errors"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/store"
)

// In a cluster (Options.Owns) each instance publishes the users whose
// mailboxes it owns, and only those: one publication per user for the
// whole cluster. The entity tags live in the shared store, entry by entry
// (publications), so when a mailbox moves — a rebalance, a stopped or a
// dead instance — the new owner reads the previous owner's tag and
// continues its publication with SIP-If-Match (RFC 3903 §4.4) instead of
// adding a second one; a 412 (the publication is gone) starts a fresh one
// as on a single instance. The instance that gives a user up stops
// publishing it and leaves the publication in place for the new owner.

// errNotOwner answers a PUBLISH due for a user whose mailbox this
// instance may no longer own: its lease ran out (a paused process that
// woke up) and the coordinator is about to take the user away. Publishing
// then would overwrite, or add to, the new owner's publication.
var errNotOwner = errors.New("this instance no longer owns the user's mailbox (its lease ran out); the new owner publishes the user")

// Adopt starts publishing users this instance took over. states holds
// the presence each should show (the stored presence the previous owner
// published; a user without one is published at its next change). The
// users' stored publications are read first, so the first PUBLISH of each
// continues the previous owner's publication.
func (c *Connector) Adopt(ctx context.Context, states map[string]*connectors.State) error {
	users := make([]string, 0, len(states))
	for u := range states {
		users = append(users, u)
	}
	err := c.pubs.loadUsers(ctx, users)
	if err != nil {
		// Published afresh: a parallel publication until the previous
		// owner's expires (at most connectors.sip.expires).
		c.opts.Logger.Warn("sip connector: reading the taken-over users' publications failed; publishing them afresh", "users", len(users), "err", err)
	}
	for u, s := range states {
		c.runner.Adopt(u, s)
	}
	return err
}

// Release stops publishing users another instance takes over, without
// removing their publications: it waits for their PUBLISHes in flight,
// saves their entity tags for the new owner and forgets them.
func (c *Connector) Release(ctx context.Context, users []string) error {
	if len(users) == 0 {
		return nil
	}
	c.runner.Release(users)
	err := c.pubs.flush(ctx)
	if err != nil {
		// The new owner's first PUBLISH may meet an older tag: 412, and a
		// fresh publication beside the one not saved until it expires.
		c.opts.Logger.Warn("sip connector: saving the publications of users handed over failed", "users", len(users), "err", err)
	}
	c.pubs.forget(users)
	return err
}

// StoredTags returns the entity tag the store keeps for each presentity
// URI among the publications of the connector named name: what an
// instance taking a user over continues from. For tests and diagnosis
// (a cluster is settled when these are the server's tags).
func StoredTags(ctx context.Context, docs store.DocumentStore, name string) (map[string]string, error) {
	ps := newPublications(docs, name)
	if err := ps.load(ctx); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range ps.pubs {
		for _, p := range m {
			out[p.Entity] = p.ETag
		}
	}
	return out, nil
}
