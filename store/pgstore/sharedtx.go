package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// sharedTx is the transaction InTx puts in its context: the store's writes
// made with that context join it instead of committing on their own.
type sharedTx struct {
	s  *Store
	tx pgx.Tx
}

type sharedTxKey struct{}

// InTx runs fn in one transaction and commits when it returns nil: every
// write of this store made with fn's context (an outbox Enqueue, the event
// sink's append, SavePresences) is part of it, so they become durable
// together or not at all. The presence scheduler publishes a change (the
// webhook outbox and the cluster's event table) and saves it as the last
// published presence this way: a crash between the two would leave a
// delivered webhook whose presence the next owner does not know, and it
// would publish the same presence again as if it were the first.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return fn(context.WithValue(ctx, sharedTxKey{}, &sharedTx{s: s, tx: tx}))
	})
}

// joined returns the transaction of an InTx of this store that ctx carries.
func (s *Store) joined(ctx context.Context) (pgx.Tx, bool) {
	if t, ok := ctx.Value(sharedTxKey{}).(*sharedTx); ok && t.s == s {
		return t.tx, true
	}
	return nil, false
}

// exec runs one statement in the InTx transaction ctx carries, or on its
// own (one statement is one transaction).
func (s *Store) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if tx, ok := s.joined(ctx); ok {
		return tx.Exec(ctx, sql, args...)
	}
	return s.pool.Exec(ctx, sql, args...)
}
