package boltstore

import (
	bolt "go.etcd.io/bbolt"
)

// The free list (which pages of the file are unused) is kept in memory
// while calsync runs and written to the file only when the store closes.
//
// bbolt can write it at every commit, but at a load that is one more page
// written per transaction, and it grows with the file; without it
// (NoFreelistSync, which calsync has always used) bolt.Open rebuilds the
// list by walking and checking every page of the file: a 50,000-mailbox
// file (272 MiB) was resident in full after Open and took half a second
// (BenchmarkOpenLarge, docs/BENCHMARKS.md). Writing it once at Close
// gives the next Open the list in one page read; a file that was not
// closed (a crash) or was written by an older calsync is walked once, as
// before, and the pages are given back right after (Open).

// persistFreelist commits an empty transaction that writes the free list;
// the file's meta page then points to it, until the next commit with
// NoFreelistSync frees it again. Called by Close with no other
// transaction running (Close holds the store's write lock).
func (s *Store) persistFreelist() error {
	s.db.NoFreelistSync = false
	defer func() { s.db.NoFreelistSync = true }()
	return s.db.Update(func(*bolt.Tx) error { return nil })
}
