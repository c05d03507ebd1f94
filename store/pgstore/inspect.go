package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Inspection is what `calsync check` reports about the database.
type Inspection struct {
	// Server is PostgreSQL's version string (server_version).
	Server string
	// SchemaVersion is the newest applied migration (0: none yet); Known
	// is the newest this calsync has. calsync migrates at start.
	SchemaVersion, Known int
	// Skew is the database clock minus this machine's clock, measured at
	// the midpoint of the query's round trip; RoundTrip bounds its error.
	Skew, RoundTrip time.Duration
	// Instances are the calsync instances alive now with the skew each
	// reported in its last heartbeat (none before one runs).
	Instances []InstanceSkew
}

// InstanceSkew is one registered instance's last heartbeat.
type InstanceSkew struct {
	ID       string
	LastSeen time.Time
	// Skew is the instance's clock minus the database's.
	Skew time.Duration
}

// Inspect connects to the database without changing anything (no
// migration) and reports its version, schema and clock skews. now is this
// machine's clock.
func Inspect(ctx context.Context, o Options, now func() time.Time) (Inspection, error) {
	var in Inspection
	migs, err := loadMigrations(embedded)
	if err != nil {
		return in, err
	}
	in.Known = len(migs)
	conn, err := o.connString()
	if err != nil {
		return in, err
	}
	cfg, err := parseConfig(conn)
	if err != nil {
		return in, err
	}
	pool, err := connect(ctx, cfg)
	if err != nil {
		return in, err
	}
	s := &Store{pool: pool, coord: pool}
	defer s.Close()
	if err := pool.QueryRow(ctx, `SELECT current_setting('server_version')`).Scan(&in.Server); err != nil {
		return in, fmt.Errorf("pgstore: read the server version: %w", err)
	}
	err = pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&in.SchemaVersion)
	if undefinedTable(err) {
		return s.skews(ctx, in, now) // a new database: nothing migrated yet
	}
	if err != nil {
		return in, fmt.Errorf("pgstore: read the schema version: %w", err)
	}
	in, err = s.skews(ctx, in, now)
	if err != nil || in.SchemaVersion < 2 {
		return in, err
	}
	in.Instances, err = s.instanceSkews(ctx)
	return in, err
}

func (s *Store) skews(ctx context.Context, in Inspection, now func() time.Time) (Inspection, error) {
	var err error
	in.Skew, in.RoundTrip, err = s.ClockSkew(ctx, now)
	return in, err
}

// undefinedTable reports PostgreSQL's 42P01 (relation does not exist).
func undefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

// ClockSkew measures the database clock against now: the database's time
// minus the midpoint of the round trip. The error of the figure is at most
// half the round trip.
func (s *Store) ClockSkew(ctx context.Context, now func() time.Time) (skew, roundTrip time.Duration, err error) {
	if err := s.check(ctx); err != nil {
		return 0, 0, err
	}
	best := time.Duration(-1)
	// Three tries, keeping the fastest round trip: a slow one (a busy
	// pool, a first connection) makes the midpoint uncertain.
	for range 3 {
		before := now()
		var db time.Time
		if err := s.coord.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&db); err != nil {
			return 0, 0, fmt.Errorf("pgstore: read the database clock: %w", err)
		}
		after := now()
		rt := after.Sub(before)
		if best < 0 || rt < best {
			best = rt
			skew = db.Sub(before.Add(rt / 2))
		}
	}
	return skew, best, nil
}
