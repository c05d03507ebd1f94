package pgstore

import (
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/store/pgstore/pgtest"
)

func TestInspectReportsSchemaAndSkewWithoutMigrating(t *testing.T) {
	url := pgtest.Database(t)
	in, err := Inspect(t.Context(), Options{URL: url}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if in.SchemaVersion != 0 || in.Known < 2 || in.Server == "" {
		t.Errorf("fresh database: %+v, want schema 0 of at least 2 known and a server version", in)
	}
	// Same machine, same clock: the database's instant lies inside the
	// round trip, so the skew is at most half of it (plus PostgreSQL's
	// microsecond rounding).
	if abs(in.Skew) > in.RoundTrip/2+time.Millisecond {
		t.Errorf("skew %v with round trip %v on one machine", in.Skew, in.RoundTrip)
	}
	if err := execSQL(t, url, `SELECT 1 FROM schema_migrations`); err == nil {
		t.Error("Inspect migrated: schema_migrations exists")
	}

	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Heartbeat(t.Context(), "calsync-a", "", time.Minute, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	slow := func() time.Time { return time.Now().Add(-10 * time.Second) } // this machine 10 s behind
	in, err = Inspect(t.Context(), Options{URL: url}, slow)
	if err != nil {
		t.Fatal(err)
	}
	if in.SchemaVersion != in.Known {
		t.Errorf("after Open: schema %d, known %d", in.SchemaVersion, in.Known)
	}
	if d := in.Skew - 10*time.Second; abs(d) > in.RoundTrip/2+time.Millisecond {
		t.Errorf("skew %v, want 10s (round trip %v)", in.Skew, in.RoundTrip)
	}
	if len(in.Instances) != 1 || in.Instances[0].ID != "calsync-a" || in.Instances[0].Skew != 1500*time.Millisecond {
		t.Errorf("instances = %+v, want calsync-a with 1.5s", in.Instances)
	}
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestOptionsOverrideTheURL(t *testing.T) {
	tests := []struct {
		o    Options
		want []string
	}{
		{Options{URL: "postgres://u:pw@h/db?sslmode=disable"}, []string{"postgres://u:pw@h/db?sslmode=disable"}},
		{Options{URL: "postgres://u:pw@h/db?sslmode=disable", TLSMode: "verify-full", CAFile: "/etc/ca.pem", PoolSize: 7},
			[]string{"sslmode=verify-full", "sslrootcert=%2Fetc%2Fca.pem", "pool_max_conns=7"}},
		{Options{URL: "host=h dbname=db", TLSMode: "require"}, []string{"host=h dbname=db sslmode='require'"}},
		{Options{URL: "host=h", CAFile: `/it's\here.pem`}, []string{`sslrootcert='/it\'s\\here.pem'`}},
	}
	for _, tc := range tests {
		got, err := tc.o.connString()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("connString(%+v) = %q, want it to contain %q", tc.o, got, w)
			}
		}
		if strings.Contains(got, "sslmode=disable") && tc.o.TLSMode != "" {
			t.Errorf("connString(%+v) = %q keeps the URL's sslmode", tc.o, got)
		}
	}
	if _, err := (Options{URL: "postgres://u:s3cret@h/db\x7f", PoolSize: 3}).connString(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL: %v, want an error without the password", err)
	}
}

func TestPoolSizeApplies(t *testing.T) {
	s, err := OpenWith(t.Context(), Options{URL: pgtest.Database(t), PoolSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.pool.Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}
}
