// Package pgtest gives tests a real, throwaway PostgreSQL: one server per
// test binary (internal/pgserver: initdb in a temp folder, a free loopback
// port, run as an unprivileged user when the tests run as root) and a
// fresh database per test.
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

	"github.com/calsync/calsync/internal/pgserver"
	"github.com/calsync/calsync/internal/testenv"
)

// Install is how to get the server binaries on Debian.
const Install = pgserver.Install

var (
	once     sync.Once
	shared   *pgserver.Server
	startErr error
	missing  string // what is missing, when the binaries are not installed
	dbSeq    atomic.Int64
)

// Main runs the tests of a package and stops its cluster afterwards (if a
// test started one). Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// Database creates an empty database on the package's cluster (starting
// the cluster on first use) and returns its connection URL. The database
// is dropped when t ends.
func Database(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		bin, err := pgserver.Binaries()
		if err != nil {
			missing = err.Error()
			return
		}
		shared, startErr = pgserver.Start(bin)
	})
	if missing != "" {
		testenv.Missing(t, missing, Install)
	}
	if startErr != nil {
		t.Fatalf("start PostgreSQL: %v", startErr)
	}
	name := fmt.Sprintf("test_%d", dbSeq.Add(1))
	exec := func(sql string) error {
		// Not t.Context(): the drop runs in a cleanup, after it ended.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return shared.Exec(ctx, sql)
	}
	if err := exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v\nserver log:\n%s", name, err, shared.Log())
	}
	t.Cleanup(func() {
		// FORCE ends connections a failed test left behind.
		if err := exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return shared.URL(name)
}
