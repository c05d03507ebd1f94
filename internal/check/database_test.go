package check_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/check"
	"github.com/calsync/calsync/internal/check/checktest"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestDatabaseCheck: with store.postgres the check reports the database
// right after the configuration: the schema (pending, then current), the
// clock skew of this machine and of a running instance, and a warning
// when a clock is off by more than a second.
func TestDatabaseCheck(t *testing.T) {
	env := checktest.New(t, 2, nil)
	url := pgtest.Database(t)
	o := env.Options("secret")
	o.Postgres = &config.Postgres{URL: config.NewSecret(url, "test"), PoolSize: 2}

	rep := run(t, o)
	if rep.Checks[1].ID != check.IDDatabase {
		t.Fatalf("second check is %s, want %s", rep.Checks[1].ID, check.IDDatabase)
	}
	db := result(t, rep, check.IDDatabase)
	if db.Status != check.StatusOK || db.Facts["schema_version"] != "0" || !strings.Contains(db.Summary, "calsync migrates it at start") {
		t.Errorf("fresh database: %s %q %v", db.Status, db.Summary, db.Facts)
	}

	st, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Heartbeat(context.Background(), "calsync-b", "", time.Minute, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	// This machine's clock an hour ahead of the database's.
	o.Clock = offsetClock{clock.Real{}, time.Hour}
	rep = run(t, o)
	db = result(t, rep, check.IDDatabase)
	if db.Status != check.StatusWarn || db.Facts["schema_version"] != db.Facts["schema_known"] || db.Facts["instances"] != "1" {
		t.Errorf("skewed clocks: %s %q %v", db.Status, db.Summary, db.Facts)
	}
	out := text(t, rep)
	for _, s := range []string{"(current)", "is more than 1s", "instance calsync-b: clock skew 3s", "synchronise the clocks"} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q:\n%s", s, out)
		}
	}
}

func TestDatabaseCheckFailsWithoutThePassword(t *testing.T) {
	env := checktest.New(t, 2, nil)
	o := env.Options("secret")
	o.Postgres = &config.Postgres{URL: config.NewSecret("postgres://calsync:hunter2-secret@127.0.0.1:1/calsync?connect_timeout=2", "environment variable DB"), PoolSize: 2}
	rep := run(t, o)
	db := result(t, rep, check.IDDatabase)
	out := text(t, rep)
	if db.Status != check.StatusFail || strings.Contains(out, "hunter2") || !strings.Contains(out, "environment variable DB") {
		t.Errorf("unreachable database: %s\n%s", db.Status, out)
	}
	if res := result(t, rep, check.IDConnectivity); res.Status == check.StatusSkip {
		t.Error("a database failure skipped the Exchange checks")
	}
}

type offsetClock struct {
	clock.Real
	d time.Duration
}

func (c offsetClock) Now() time.Time { return c.Real.Now().Add(c.d) }
