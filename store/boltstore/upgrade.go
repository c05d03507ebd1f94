package boltstore

// The upgrade of a schema-1 file. Schema 1 kept one key per occurrence,
// <smtp>\x00<start: 12 bytes><item id> -> value, in the bucket
// "occurrences", and the longest stored duration as "longest" in each
// mailbox's bucket; schema 2 keeps a mailbox's window as one value in its
// bucket in "windows" (window.go, putWindow).
//
// Open converts the file in transactions of a few MiB of old rows each,
// so that a large file is not held in memory as one transaction. Each
// converts whole mailboxes: it deletes a mailbox's old rows and writes its
// window value together, so after a crash every mailbox is in exactly one
// of the two forms, and the next Open continues where this one stopped
// (the schema version says 1 until the last transaction, which drops the
// old bucket and writes 2).

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

var (
	bucketOccurrences1 = []byte("occurrences")
	keyLongest1        = []byte("longest")
)

// upgradeBatchBytes bounds the old rows one upgrade transaction reads (it
// always converts at least one whole mailbox). A variable for tests.
var upgradeBatchBytes = 4 << 20

// bucketsOf lists the buckets a file of the given schema version has.
func bucketsOf(version int) [][]byte {
	if version >= 2 {
		return allBuckets
	}
	out := make([][]byte, 0, len(allBuckets))
	for _, b := range allBuckets {
		if bytes.Equal(b, bucketWindows) {
			b = bucketOccurrences1 // "windows" exists only once an upgrade began
		}
		out = append(out, b)
	}
	return out
}

// upgradeFrom1 converts a schema-1 file to schema 2.
func (s *Store) upgradeFrom1() error {
	began := time.Now()
	converted, damaged := 0, 0
	for finished := false; !finished; {
		err := s.db.Update(func(tx *bolt.Tx) error {
			var err error
			var n int
			var bad []string
			finished, n, bad, err = s.upgradeStep(tx, upgradeBatchBytes)
			if err == nil { // counted only once the transaction holds
				converted += n
				damaged += len(bad)
				for _, smtp := range bad {
					s.log.Warn("boltstore: a mailbox's stored window could not be read while upgrading the store file; it is dropped and read again from Exchange", "path", s.path, "smtp", smtp)
				}
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("boltstore: upgrade %s from schema version 1 to %d: %w", s.path, SchemaVersion, err)
		}
		// The upgrade reads the whole file through the map; give each
		// step's resident pages back, as the engine does after a load
		// (release.go), or a 10,000-mailbox file peaks at 270 MB RSS.
		if err := s.ReleaseMemory(); err != nil {
			s.log.Debug("boltstore: releasing the map during the upgrade", "path", s.path, "err", err)
		}
	}
	s.log.Info("boltstore: store file upgraded to one value per mailbox window", "path", s.path,
		"from_schema", 1, "to_schema", SchemaVersion, "windows", converted, "damaged", damaged, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// upgradeStep converts the mailboxes of about budget bytes of old rows.
// When no old row is left it removes what schema 1 kept besides them and
// writes the new schema version (finished). It returns how many windows it
// converted and which mailboxes' rows could not be decoded: their rows are
// dropped and their checkpoint cleared, so the engine reads them again, as
// for a mailbox never loaded (the outbox and everything else stay).
func (s *Store) upgradeStep(tx *bolt.Tx, budget int) (finished bool, converted int, damaged []string, err error) {
	if _, err := tx.CreateBucketIfNotExists(bucketWindows); err != nil {
		return false, 0, nil, err
	}
	ob := tx.Bucket(bucketOccurrences1)
	c := ob.Cursor()
	used := 0
	for k, _ := c.First(); k != nil && used < budget; k, _ = c.First() {
		smtp, _, _ := bytes.Cut(k, []byte{0}) // schema 1 refused addresses with NUL
		prefix := append(bytes.Clone(smtp), 0)
		smtp = prefix[:len(smtp)] // k lives in the map; the deletes below may reuse its page
		var keys [][]byte
		var occs []calendar.Occurrence
		var bad error
		for k, v := c.Seek(smtp); k != nil && (bytes.Equal(k, smtp) || bytes.HasPrefix(k, prefix)); k, v = c.Next() {
			keys = append(keys, bytes.Clone(k))
			used += len(k) + len(v)
			if bad != nil {
				continue
			}
			if len(k) < len(prefix)+12 {
				bad = fmt.Errorf("occurrence key %q too short", k)
				continue
			}
			o, err := decodeOccurrence(string(k[len(prefix)+12:]), v)
			if err != nil {
				bad = fmt.Errorf("occurrence %q: %w", k, err)
				continue
			}
			occs = append(occs, o)
		}
		for _, k := range keys {
			if err := ob.Delete(k); err != nil {
				return false, 0, nil, err
			}
		}
		if tx.Bucket(bucketMailboxes).Bucket(smtp) == nil {
			continue // rows of no mailbox: DeleteMailbox removes both, nothing reads these
		}
		if bad != nil {
			damaged = append(damaged, string(smtp))
			if err := s.mutateRecord(tx, string(smtp), func(_ *bolt.Bucket, doc *recordDoc) error {
				doc.Checkpoint = store.Checkpoint{}
				return nil
			}); err != nil {
				return false, 0, nil, err
			}
			continue
		}
		// Keys sorted by start, then item id: the order a window keeps.
		val, err := appendWindow(nil, s.opts.Encoding, occs)
		if err != nil {
			return false, 0, nil, fmt.Errorf("encode the window of %s: %w", smtp, err)
		}
		if err := putWindow(tx, smtp, val); err != nil {
			return false, 0, nil, err
		}
		converted++
	}
	if k, _ := c.First(); k != nil {
		return false, converted, damaged, nil
	}
	// Done: the records lose "longest". A mailbox whose window had no
	// occurrences has no window value, which reads as an empty window.
	mailboxes := tx.Bucket(bucketMailboxes)
	var names [][]byte
	if err := mailboxes.ForEachBucket(func(k []byte) error { names = append(names, bytes.Clone(k)); return nil }); err != nil {
		return false, 0, nil, err
	}
	for _, k := range names {
		if err := mailboxes.Bucket(k).Delete(keyLongest1); err != nil {
			return false, 0, nil, err
		}
	}
	if err := tx.DeleteBucket(bucketOccurrences1); err != nil {
		return false, 0, nil, err
	}
	return true, converted, damaged, tx.Bucket(bucketMeta).Put(keySchema, fmt.Appendf(nil, "%d", SchemaVersion))
}
