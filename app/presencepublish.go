package app

import (
	"context"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store/pgstore"
)

// presencePublishSaving returns the scheduler's PublishSaving on
// PostgreSQL (nil otherwise: publish, then save): a change's webhook and
// cluster event and the user's last published presence are written in one
// transaction. Written one after the other, a crash between them (or a
// cluster instance losing its database) left a delivered webhook whose
// presence the new owner did not adopt, and it published the same
// presence again as the user's first.
func (a *App) presencePublishSaving() func([]presence.Change, map[string][]byte) error {
	pg, ok := a.store.(*pgstore.Store)
	if !ok {
		return nil
	}
	return func(changes []presence.Change, docs map[string][]byte) error {
		// The scheduler gives no context; the write is bounded by the
		// store, as PublishBatch's.
		err := pg.InTx(context.Background(), func(ctx context.Context) error {
			if err := (api.PresencePublisher{Events: a.events}).Publish(ctx, changes...); err != nil {
				return err
			}
			return pg.SavePresences(ctx, docs)
		})
		if err == nil && a.dispatcher != nil {
			a.dispatcher.Wake() // its own wake came before the commit
		}
		return err
	}
}
