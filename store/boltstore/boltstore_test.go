package boltstore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/storetest"
)

func openTemp(t *testing.T, opts boltstore.Options) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "calsync.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func reopen(opts boltstore.Options) storetest.Reopen {
	return func(t *testing.T, s store.Store) store.Store {
		path := s.(*boltstore.Store).Path()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s2, err := boltstore.Open(path, opts)
		if err != nil {
			t.Fatalf("reopen %s: %v", path, err)
		}
		return s2
	}
}

func TestConformance(t *testing.T) {
	for name, opts := range map[string]boltstore.Options{
		"binary":  {},
		"json":    {Encoding: boltstore.EncodingJSON},
		"batched": {BatchDelay: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, opts) }, storetest.WithReopen(reopen(opts)))
		})
	}
}
