// Package pgtest gives tests a real, throwaway PostgreSQL: one cluster per
// test binary (initdb in a temp folder, started on a free loopback port
// with its unix socket in that folder, run as an unprivileged user when
// the tests run as root) and a fresh database per test.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//	...
//	url := pgtest.Database(t)
//
// Without the PostgreSQL server binaries a test fails when CI=true and is
// skipped otherwise, with the install hint (internal/testenv).
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/internal/testenv"
)

// Install is how to get the server binaries on Debian.
const Install = "apt-get install -y postgresql"

var (
	once     sync.Once
	shared   *cluster
	startErr error
	missing  string // what is missing, when the binaries are not installed
	dbSeq    atomic.Int64
)

// Main runs the tests of a package and stops its cluster afterwards (if a
// test started one). Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

// Database creates an empty database on the package's cluster (starting
// the cluster on first use) and returns its connection URL. The database
// is dropped when t ends.
func Database(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		bin, what := findBinaries()
		if bin == "" {
			missing = what
			return
		}
		shared, startErr = start(bin)
	})
	if missing != "" {
		testenv.Missing(t, missing, Install)
	}
	if startErr != nil {
		t.Fatalf("start PostgreSQL: %v", startErr)
	}
	name := fmt.Sprintf("test_%d", dbSeq.Add(1))
	admin := shared.url("postgres")
	exec := func(sql string) error {
		// Not t.Context(): the drop runs in a cleanup, after it ended.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v\nserver log:\n%s", name, err, shared.log.String())
	}
	t.Cleanup(func() {
		// FORCE ends connections a failed test left behind.
		if err := exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return shared.url(name)
}
