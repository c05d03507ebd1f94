package app

import (
	"context"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/presence"
)

// txStore is a store whose writes made with InTx's context share one
// transaction: pgstore.Store and boltstore.Store.
type txStore interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	SavePresences(ctx context.Context, docs map[string][]byte) error
}

// presencePublishSaving returns the scheduler's PublishSaving (nil for a
// store without InTx: publish, then save): a change's webhook (and, in a
// cluster, its event row) and the user's last published presence are
// written in one transaction. Written one after the other, a crash between
// them (or a cluster instance losing its database) left a delivered
// webhook whose presence the next owner, or the restarted instance, did
// not adopt, and it published the same presence again as the user's
// first.
func (a *App) presencePublishSaving() func([]presence.Change, map[string][]byte) error {
	st, ok := a.store.(txStore)
	if !ok {
		return nil
	}
	return func(changes []presence.Change, docs map[string][]byte) error {
		// The scheduler gives no context; the write is bounded by the
		// store, as PublishBatch's.
		err := st.InTx(context.Background(), func(ctx context.Context) error {
			if err := (api.PresencePublisher{Events: a.events}).Publish(ctx, changes...); err != nil {
				return err
			}
			return st.SavePresences(ctx, docs)
		})
		if err == nil && a.dispatcher != nil {
			a.dispatcher.Wake() // its own wake came before the commit
		}
		return err
	}
}
