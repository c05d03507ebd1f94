package boltstore

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// sharedTx is the transaction of one InTx, begun by the first write made
// with its context. Begun lazily, not when InTx starts: the presence
// scheduler's function publishes through the event log, which holds its
// publish lock while its webhook sink enqueues; another publisher (the
// health events) may hold that lock and wait for bolt's writer lock, so
// taking bolt's lock before the event log's would deadlock. The order is
// the same as every other publisher's: the event log's lock, then bolt's.
type sharedTx struct {
	s  *Store
	tx *bolt.Tx
	// failed is the error of a write made in the transaction: like
	// PostgreSQL, a transaction one of whose statements failed cannot
	// commit (the write may have been half done).
	failed error
	// ended: InTx has returned, and a context that outlived it joins
	// nothing (its transaction is over, or was never begun: a write would
	// begin one that nobody commits, holding bolt's writer lock for good).
	ended bool
}

// errInTxEnded is the error of a read or write made with the context of
// an InTx that has returned, as pgx reports a closed transaction.
var errInTxEnded = errors.New("boltstore: the context of an InTx was used after the InTx returned; read and write with it only inside the InTx's function")

type sharedTxKey struct{}

// InTx runs fn and commits, when it returns nil, every write of this
// store made with fn's context (an outbox Enqueue, SavePresences, …) in
// one bolt transaction: they become durable together or not at all, also
// across a crash. The presence scheduler publishes a change (its webhook
// in the outbox) and saves it as the user's last published presence this
// way (app/presencepublish.go): written one after the other, a restart
// between them published the same presence again as if it were the first
// (pgstore.Store.InTx is the same for PostgreSQL).
//
// While fn runs after its first write, other writers of the store wait
// for bolt's writer lock: fn must be short and must not wait for another
// goroutine's write to this store. A write made with another context from
// inside fn would wait for the transaction fn holds. fn's context is for
// fn's own goroutine: the shared transaction, like a bolt.Tx, is not safe
// for concurrent use, and it joins nothing once InTx has returned.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	st := &sharedTx{s: s}
	committed := false
	defer func() {
		st.ended = true
		// fn failed or panicked, or a write failed: release bolt's writer lock.
		if st.tx != nil && !committed {
			_ = st.tx.Rollback()
		}
	}()
	if err := fn(context.WithValue(ctx, sharedTxKey{}, st)); err != nil {
		return err
	}
	switch {
	case st.failed != nil:
		return fmt.Errorf("boltstore: transaction not committed: a write in it failed: %w", st.failed)
	case st.tx == nil:
		return nil // nothing was written
	}
	committed = true // a failed Commit has rolled back too
	if err := st.tx.Commit(); err != nil {
		return fmt.Errorf("boltstore: commit %s: %w", s.path, err)
	}
	return nil
}

// joined returns the InTx transaction of this store that ctx carries.
func (s *Store) joined(ctx context.Context) (*sharedTx, bool) {
	st, ok := ctx.Value(sharedTxKey{}).(*sharedTx)
	return st, ok && st.s == s
}

// write runs fn in the shared transaction, beginning it on first use.
func (st *sharedTx) write(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	if st.ended {
		return errInTxEnded
	}
	if st.failed != nil {
		return fmt.Errorf("boltstore: an earlier write of this transaction failed: %w", st.failed)
	}
	if st.tx == nil {
		tx, err := st.s.db.Begin(true)
		if err != nil {
			return fmt.Errorf("boltstore: begin a transaction on %s: %w", st.s.path, err)
		}
		st.tx = tx
	}
	if err := runWrite(fn, st.tx); err != nil {
		st.failed = err
		var p writePanic
		if errors.As(err, &p) {
			panic(p.v)
		}
		return err
	}
	return nil
}

// view runs fn in the shared transaction when it has begun (so that fn
// sees its writes), else in a read transaction of its own. It does not
// take the store's lock again: InTx holds it while fn runs, and a
// sync.RWMutex lets no new reader in while a writer waits, so a read made
// before the first write while a Close waited for the InTx's hold would
// wait for that Close, and the Close for the InTx: both hung.
func (st *sharedTx) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	if st.ended {
		return errInTxEnded
	}
	if st.tx != nil {
		return fn(st.tx)
	}
	return st.s.db.View(fn)
}
