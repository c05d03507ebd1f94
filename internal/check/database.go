package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/calsync/calsync/store/pgstore"
)

// IDDatabase is the PostgreSQL check, run only with store.postgres.
const IDDatabase = "database"

// maxSkew is the clock difference the database check tolerates between
// this machine (or another instance) and PostgreSQL. Leases are judged by
// the database's clock alone, but presence turns at meeting boundaries by
// each instance's clock: instances a second apart would publish one user's
// 09:00 change a second apart depending on who owns them.
const maxSkew = time.Second

// databaseTimeout bounds the database check (connect and queries).
const databaseTimeout = 15 * time.Second

// checkDatabase connects to store.postgres and reports the server, the
// schema version against this calsync's, and the clock skew of this
// machine and of every running instance.
func (r *runner) checkDatabase(ctx context.Context) Result {
	pg := r.opts.Postgres
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	in, err := pgstore.Inspect(ctx, pgstore.Options{URL: pg.URL.Value(), PoolSize: 2, TLSMode: pg.TLSMode, CAFile: pg.CAFile}, r.clock.Now)
	if err != nil {
		return Result{Status: StatusFail, Summary: "PostgreSQL is not usable: " + err.Error(),
			Fix: []string{"check store.postgres (URL from " + pg.URL.Source() + "), that the database exists, that the role may connect and create tables in it, and the TLS settings (store.postgres.tls)"}}
	}
	res := Result{Status: StatusOK, Facts: map[string]string{
		"server_version": in.Server, "schema_version": fmt.Sprint(in.SchemaVersion), "schema_known": fmt.Sprint(in.Known),
		"clock_skew_ms": fmt.Sprint(in.Skew.Milliseconds()), "instances": fmt.Sprint(len(in.Instances)),
	}}
	var notes []string
	switch {
	case in.SchemaVersion > in.Known:
		res.Status = StatusFail
		notes = append(notes, fmt.Sprintf("the schema is at version %d, newer than this calsync knows (%d)", in.SchemaVersion, in.Known))
		res.Fix = append(res.Fix, "run the calsync version the other instances run (never an older one against a newer database)")
	case in.SchemaVersion < in.Known:
		notes = append(notes, fmt.Sprintf("schema %d of %d: calsync migrates it at start", in.SchemaVersion, in.Known))
	default:
		notes = append(notes, fmt.Sprintf("schema %d (current)", in.SchemaVersion))
	}
	skewed := false
	skew := fmt.Sprintf("clock skew %s (±%s)", in.Skew.Round(time.Millisecond), (in.RoundTrip / 2).Round(time.Millisecond))
	if in.Skew.Abs()-in.RoundTrip/2 > maxSkew {
		skewed = true
		skew = "this machine's " + skew + " is more than " + maxSkew.String()
	}
	notes = append(notes, skew)
	for _, i := range in.Instances {
		line := fmt.Sprintf("instance %s: clock skew %s, last heartbeat %s", i.ID, i.Skew, i.LastSeen.UTC().Format(time.RFC3339))
		if i.Skew.Abs() > maxSkew {
			skewed = true
			line += fmt.Sprintf(" (more than %s)", maxSkew)
		}
		res.Details = append(res.Details, line)
	}
	if skewed {
		res.Status = worst(res.Status, StatusWarn)
		res.Fix = append(res.Fix, "synchronise the clocks of the calsync machines and the database server (NTP, chrony or systemd-timesyncd)")
	}
	res.Summary = fmt.Sprintf("PostgreSQL %s, %s, %d %s running", in.Server, strings.Join(notes, ", "), len(in.Instances), plural(len(in.Instances), "instance", "instances"))
	return res
}
