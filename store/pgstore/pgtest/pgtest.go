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
	"strings"
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
	return DatabaseFrom(t, "")
}

// DatabaseFrom is Database with a copy of template (a database Template
// made) instead of an empty one; "" is an empty database.
func DatabaseFrom(t testing.TB, template string) string {
	t.Helper()
	server(t)
	name := fmt.Sprintf("test_%d", dbSeq.Add(1))
	create := "CREATE DATABASE " + name
	if template != "" {
		create += " TEMPLATE " + template
	}
	// FILE_COPY copies the template's files after a checkpoint instead of
	// writing each block to the WAL (PostgreSQL 15's default): with the
	// test server's fsync off, about 40 % less time per test database
	// under load. PostgreSQL before 15 has no STRATEGY and copies files.
	err := exec(create + " STRATEGY FILE_COPY")
	if err != nil && strings.Contains(err.Error(), "strategy") {
		err = exec(create)
	}
	if err != nil {
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

var templates sync.Map // name → *template

type template struct {
	once sync.Once
	err  error
}

// Template makes, once per test binary, a database called name that
// prepare fills (say, migrates) and returns name for DatabaseFrom. Copying
// it is cheaper than preparing a fresh database for each of many tests
// (the store conformance suites: about a hundred). prepare must close
// every connection it opened: PostgreSQL copies only a database nobody
// uses.
func Template(t testing.TB, name string, prepare func(url string) error) string {
	t.Helper()
	server(t)
	v, _ := templates.LoadOrStore(name, &template{})
	tm := v.(*template)
	tm.once.Do(func() {
		if tm.err = exec("CREATE DATABASE " + name); tm.err == nil {
			tm.err = prepare(shared.URL(name))
		}
	})
	if tm.err != nil {
		t.Fatalf("template database %s: %v", name, tm.err)
	}
	return name
}

// exec runs one statement on the server's maintenance database. Not
// t.Context(): a drop runs in a cleanup, after the test ended.
func exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return shared.Exec(ctx, sql)
}

// server starts the package's cluster on first use.
func server(t testing.TB) {
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
}
