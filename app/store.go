package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/pgstore"
)

// openStore opens the store the config names: the PostgreSQL database of
// store.postgres, or else the embedded bolt file at store.path.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	if pg := cfg.Store.Postgres; pg != nil {
		st, err := pgstore.OpenWith(ctx, postgresOptions(pg))
		if err != nil {
			return nil, fmt.Errorf("app: opening the PostgreSQL store (store.postgres, URL from %s): %w", pg.URL.Source(), err)
		}
		log.Info("store: PostgreSQL", "url_from", pg.URL.Source(), "pool_size", pg.PoolSize)
		return st, nil
	}
	st, err := boltstore.Open(cfg.Store.Path, boltstore.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("app: opening the store: %w", err)
	}
	return st, nil
}

// postgresOptions are pgstore's connection settings from store.postgres.
func postgresOptions(pg *config.Postgres) pgstore.Options {
	return pgstore.Options{URL: pg.URL.Value(), PoolSize: pg.PoolSize, TLSMode: pg.TLSMode, CAFile: pg.CAFile}
}
