package engine

import (
	"context"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// deepStore runs the store calls of the workers on the deep pool
// (deeppool.go): a commit walks the store's pages and nodes as deeply as a
// decoder walks an answer, and would otherwise grow every worker's stack.
type deepStore struct {
	store.Store
	deep *deepPool
}

func (s deepStore) CommitWindow(ctx context.Context, smtp string, c store.WindowCommit) error {
	return s.deep.run(func() error { return s.Store.CommitWindow(ctx, smtp, c) })
}

func (s deepStore) SaveCheckpoint(ctx context.Context, smtp string, cp store.Checkpoint) error {
	return s.deep.run(func() error { return s.Store.SaveCheckpoint(ctx, smtp, cp) })
}

func (s deepStore) SaveStatus(ctx context.Context, st store.MailboxStatus) error {
	return s.deep.run(func() error { return s.Store.SaveStatus(ctx, st) })
}

func (s deepStore) SaveOOF(ctx context.Context, smtp string, oof calendar.OOFSettings) error {
	return s.deep.run(func() error { return s.Store.SaveOOF(ctx, smtp, oof) })
}

func (s deepStore) Mailbox(ctx context.Context, smtp string) (rec store.MailboxRecord, err error) {
	err = s.deep.run(func() (err error) {
		rec, err = s.Store.Mailbox(ctx, smtp)
		return err
	})
	return rec, err
}

func (s deepStore) DeleteMailbox(ctx context.Context, smtp string) error {
	return s.deep.run(func() error { return s.Store.DeleteMailbox(ctx, smtp) })
}
