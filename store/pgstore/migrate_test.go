package pgstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/store/pgstore/pgtest"
)

func appliedVersions(t *testing.T, url string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func execSQL(t *testing.T, url, sql string) error {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), sql)
	return err
}

func TestMigrationsApplyOnceWhenInstancesStartTogether(t *testing.T) {
	url := pgtest.Database(t)
	migs, err := loadMigrations(embedded)
	if err != nil {
		t.Fatal(err)
	}
	const instances = 4
	var wg sync.WaitGroup
	errs := make(chan error, instances)
	for range instances {
		wg.Go(func() {
			s, err := Open(t.Context(), url)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	got := appliedVersions(t, url)
	if len(got) != len(migs) || got[len(got)-1] != len(migs) {
		t.Errorf("schema_migrations holds %v, want each of 1..%d once", got, len(migs))
	}
}

func TestFailedMigrationLeavesNothingBehind(t *testing.T) {
	url := pgtest.Database(t)
	migs := []migration{
		{version: 1, name: "good", sql: `CREATE TABLE first (id int)`},
		{version: 2, name: "broken", sql: `CREATE TABLE second (id int); SELECT no_such_column FROM first`},
	}
	_, err := open(t.Context(), url, migs)
	if err == nil || !strings.Contains(err.Error(), "0002_broken") {
		t.Fatalf("open with a broken migration: %v, want an error naming 0002_broken", err)
	}
	// One transaction: not even schema_migrations or migration 1 stays.
	for _, table := range []string{"schema_migrations", "first", "second"} {
		if err := execSQL(t, url, `SELECT * FROM `+table); err == nil {
			t.Errorf("table %s exists although the run failed", table)
		}
	}
	// The fixed migration applies afterwards.
	migs[1].sql = `CREATE TABLE second (id int)`
	s, err := open(t.Context(), url, migs)
	if err != nil {
		t.Fatalf("open after fixing the migration: %v", err)
	}
	_ = s.Close()
	if got := appliedVersions(t, url); len(got) != 2 {
		t.Errorf("schema_migrations holds %v, want [1 2]", got)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	url := pgtest.Database(t)
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := execSQL(t, url, `INSERT INTO schema_migrations (version, name) VALUES (999, 'from_the_future')`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), url)
	if err == nil || !strings.Contains(err.Error(), "version 999") || !strings.Contains(err.Error(), "upgrade calsync") {
		t.Errorf("Open of a newer schema: %v, want a refusal naming version 999", err)
	}
}

func TestLoadMigrationsChecksFiles(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1")}
	for name, files := range map[string]fstest.MapFS{
		"gap":       {"migrations/0001_a.sql": sql, "migrations/0003_c.sql": sql},
		"duplicate": {"migrations/0001_a.sql": sql, "migrations/0001_b.sql": sql},
		"bad name":  {"migrations/first.sql": sql},
		"not sql":   {"migrations/0001_a.txt": sql},
	} {
		if _, err := loadMigrations(files); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
	migs, err := loadMigrations(fstest.MapFS{"migrations/0002_b.sql": sql, "migrations/0001_a.sql": sql})
	if err != nil || len(migs) != 2 || migs[0].name != "a" || migs[1].version != 2 {
		t.Errorf("loadMigrations = %+v, %v; want versions 1 (a) and 2 (b)", migs, err)
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	_, err := Open(t.Context(), "postgres://calsync:s3cret-pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open error %v: want a failure without the password", err)
	}
	_, err = Open(t.Context(), "postgres://calsync:s3cret-pw@[bad")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open error %v: want a failure without the password", err)
	}
}
