// Package pgstore is a store.Store on PostgreSQL, for several calsync
// instances sharing one database (issue 14). It is a library for now: the
// application still runs on the embedded boltstore, and leases between
// instances, fencing and the shared API are later work (docs/store.md).
//
// Open connects a pgx pool and brings the schema to the newest version
// with the embedded migrations (migrations/NNNN_name.sql, recorded in the
// schema_migrations table, applied in one transaction under an advisory
// lock). Every write that must be atomic is one transaction; a window
// commit replaces the occurrences and the checkpoint together.
//
// Instants the database compares (occurrence bounds, leases, outbox
// schedule) are timestamptz and so keep microseconds, not nanoseconds;
// values it only hands back (status, checkpoint, automatic replies,
// occurrences) are jsonb and keep nanoseconds.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calsync/calsync/store"
)

// Store is a store.Store on PostgreSQL. Create it with Open.
type Store struct {
	pool *pgxpool.Pool
	// coord is a small pool of its own for the cluster coordinator's
	// heartbeats and leases (leaseset.go, instances.go): a renewal must
	// not queue behind the engine's writes for a connection, or a busy
	// instance would miss its lease deadline and drop every mailbox.
	coord  *pgxpool.Pool
	closed atomic.Bool
}

// coordConns is the size of the coordinator's pool: the keeper's renewal
// and a round may overlap.
const coordConns = 2

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a PostgreSQL URL or key=value
// connection string, as pgx parses it) and migrates its schema. The
// database must exist; the role needs the right to create tables in it.
func Open(ctx context.Context, url string) (*Store, error) {
	migs, err := loadMigrations(embedded)
	if err != nil {
		return nil, err
	}
	return open(ctx, url, migs)
}

func open(ctx context.Context, url string, migs []migration) (*Store, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	pool, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool, migs); err != nil {
		pool.Close()
		return nil, err
	}
	// The coordinator's pool connects on first use (an instance outside a
	// cluster never opens it).
	ccfg := cfg.Copy()
	ccfg.MaxConns, ccfg.MinConns = coordConns, 0
	coord, err := pgxpool.NewWithConfig(ctx, ccfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect to %s: %w", describe(cfg), err)
	}
	return &Store{pool: pool, coord: coord}, nil
}

func parseConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: keep it out.
		return nil, errors.New("pgstore: the database URL does not parse (expected postgres://user@host:port/db?... or key=value pairs)")
	}
	// A transaction left open by a client that stopped (a paused process,
	// a frozen VM) keeps its row locks until the server ends it: a lease
	// row a fenced write read FOR SHARE then blocks every takeover of the
	// mailbox for as long as the process is stopped (the cluster chaos
	// test saw a SIGSTOPped instance hold the others' acquisitions for
	// minutes). pgstore's transactions run their statements back to back,
	// so a session idle inside one for 10 s is such a client. The URL's
	// own setting wins.
	if _, ok := cfg.ConnConfig.RuntimeParams[idleInTxParam]; !ok {
		cfg.ConnConfig.RuntimeParams[idleInTxParam] = idleInTxTimeout
	}
	return cfg, nil
}

const (
	idleInTxParam   = "idle_in_transaction_session_timeout"
	idleInTxTimeout = "10s"
)

// connect connects a pool and pings the database.
func connect(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect to %s: %w", describe(cfg), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect to %s: %w", describe(cfg), err)
	}
	return pool, nil
}

// describe names the database for errors without its password.
func describe(cfg *pgxpool.Config) string {
	return fmt.Sprintf("database %q on %s:%d as %q", cfg.ConnConfig.Database, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.User)
}

// check returns the error every method reports before doing anything: a
// done context or a closed store.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	if s.closed.Load() {
		return fmt.Errorf("pgstore: %w", store.ErrClosed)
	}
	return nil
}

// inTx runs fn in one transaction, committing when it returns nil; inside
// an InTx of this store (ctx carries it) fn runs in that one instead.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if tx, ok := s.joined(ctx); ok {
		return fn(tx)
	}
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// Close releases the pool; further calls return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("pgstore: %w", store.ErrClosed)
	}
	s.pool.Close()
	if s.coord != s.pool {
		s.coord.Close()
	}
	return nil
}
