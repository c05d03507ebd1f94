package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
	"github.com/calsync/calsync/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// urls remembers the database of each store so that reopen can connect
// to the same one.
var urls sync.Map // *pgstore.Store -> string

// openFresh opens a store on a fresh copy of a migrated database: the
// conformance suites open about a hundred, and migrating each took longer
// than copying one.
func openFresh(t *testing.T) *pgstore.Store {
	t.Helper()
	url := pgtest.DatabaseFrom(t, pgtest.Template(t, "migrated", func(url string) error {
		s, err := pgstore.Open(context.Background(), url)
		if err != nil {
			return err
		}
		return s.Close()
	}))
	s, err := pgstore.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	urls.Store(s, url)
	return s
}

func reopen(t *testing.T, s store.Store) store.Store {
	url, _ := urls.Load(s.(*pgstore.Store))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2, err := pgstore.Open(t.Context(), url.(string))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	return s2
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) }, storetest.WithReopen(reopen))
}

// BenchmarkStore runs the shared store benchmarks against the test
// cluster. Its durability is off (pgtest), so the figures show pgstore's
// own cost and round trips, not what a production database with fsync
// and replication takes.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := pgstore.Open(b.Context(), pgtest.Database(b))
		if err != nil {
			b.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestConformanceClaiming: the claiming view of the outbox (several
// instances' dispatchers) is a store.Store like any other for one owner.
func TestConformanceClaiming(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t).Claiming("calsync-a", time.Minute) })
}
