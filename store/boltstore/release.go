package boltstore

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ReleaseMemory gives back the resident pages of the store's memory map
// (bolt reads every page through a read-only shared map of the file). The
// data stays in the file and the page cache; a later read maps its page
// again with a cheap fault. Why: at the initial load every mailbox's
// record and occurrences are read once, and on Linux with large page-cache
// folios a read maps the whole folio around a page (up to 2 MiB), so
// after a load nearly the whole file stayed resident in this process (57
// MiB at 10,000 mailboxes) although little of it is read again. The
// engine calls it after a load (docs/BENCHMARKS.md, "Memory").
//
// It runs inside a read transaction, which holds bolt's map in place (a
// growing file is mapped again only under the exclusive lock a read
// transaction excludes). On systems other than Linux it does nothing.
func (s *Store) ReleaseMemory() error {
	done, err := s.begin(context.Background())
	if err != nil {
		return err
	}
	defer done()
	return s.db.View(func(tx *bolt.Tx) error {
		if err := dropMapped(s.db.Info().Data, tx.Size()); err != nil {
			return fmt.Errorf("boltstore: release the map of %s: %w", s.path, err)
		}
		return nil
	})
}
