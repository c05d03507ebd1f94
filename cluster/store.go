package cluster

import (
	"context"

	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/pgstore"
)

// EngineStore is the store an instance gives its engine: mailbox writes
// fenced by the lease epochs c holds (pgstore.Store.Fenced), and a
// DeleteMailbox that keeps the data of a mailbox handed to another
// instance. The engine deletes the stored data of every mailbox it stops
// syncing; in a cluster that is only right when the mailbox left the users
// sources, not when it moved.
func EngineStore(pg *pgstore.Store, c *Coordinator) store.Store {
	return &engineStore{Store: pg.Fenced(c.Epoch), c: c}
}

type engineStore struct {
	store.Store
	c *Coordinator
}

func (s *engineStore) DeleteMailbox(ctx context.Context, smtp string) error {
	if s.c.Wanted(smtp) {
		return nil // handed over: the new owner reads it back and carries on
	}
	return s.Store.DeleteMailbox(ctx, smtp)
}
