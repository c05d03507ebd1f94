package boltstore

// The upgrade of a file of schema version 1, 2 or 3 to 4.
//
// Schema 1 kept one key per occurrence, <smtp>\x00<start: 12 bytes><item
// id> -> value, in the bucket "occurrences", and the longest stored
// duration as "longest" in each mailbox's bucket. Schema 2 kept a
// mailbox's window as one value, "w" in its bucket in "windows". Schema 3
// keeps that value in the mailbox's bucket in "mailboxes", next to its
// record (mailbox.go, keyWindow). Schema 4 adds the bucket "statuses",
// where a status written alone goes (statuses.go); a schema-3 record's
// status is what a mailbox without an entry there reads, so a schema-3
// file needs only the new, empty bucket: one transaction.
//
// Open converts the file in transactions of a few MiB of old rows or
// windows each, so that a large file is not held in memory as one
// transaction. Each converts whole mailboxes: it deletes a mailbox's old
// rows or its schema-2 bucket and writes its window into the mailbox's
// bucket together, so after a crash every mailbox is in exactly one of
// the forms, and the next Open continues where this one stopped. The
// first transaction already writes schema 4, with "upgrade_from" naming
// the old version, so that an older calsync refuses a half-converted file
// (it would read the windows moved so far as empty while their
// checkpoints stay: events missing until the mailbox is read in full
// again); the last transaction drops the old buckets and the marker. A
// file whose upgrade calsync of schema 3 began ("schema" 3,
// "upgrade_from" 1 or 2) is continued the same way: it holds the forms
// these steps read. A schema-1 file whose upgrade to 2 an older calsync
// began (version still 1, no marker) holds both old forms; the steps
// handle both.

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

var (
	bucketOccurrences1 = []byte("occurrences") // schema 1
	keyLongest1        = []byte("longest")     // schema 1, in a mailbox's bucket
	bucketWindows2     = []byte("windows")     // schema 2

	// keyUpgradeFrom, in "meta", holds the schema version an unfinished
	// upgrade started from; "schema" already says SchemaVersion then.
	keyUpgradeFrom = []byte("upgrade_from")
)

// upgradeBatchBytes bounds the old rows or windows one upgrade transaction
// reads (it always converts at least one whole mailbox). A variable for
// tests.
var upgradeBatchBytes = 4 << 20

// bucketsOf lists the buckets a file of the given schema version has.
// ("statuses" may be there too, created by this upgrade's first step.)
func bucketsOf(version int) [][]byte {
	switch version {
	case 1:
		return append(slices.Clone(buckets3), bucketOccurrences1) // "windows" exists only once an upgrade began
	case 2:
		return append(slices.Clone(buckets3), bucketWindows2)
	case 3:
		return buckets3
	}
	return allBuckets
}

// upgrade converts a file of schema version (1, 2 or 3) to SchemaVersion.
func (s *Store) upgrade(version int) error {
	began := time.Now()
	converted, damaged := 0, 0
	for finished := false; !finished; {
		err := s.db.Update(func(tx *bolt.Tx) error {
			var err error
			var n int
			var bad []string
			finished, n, bad, err = s.upgradeStep(tx, version, upgradeBatchBytes)
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
			return fmt.Errorf("boltstore: upgrade %s from schema version %d to %d: %w", s.path, version, SchemaVersion, err)
		}
		// The upgrade reads the whole file through the map; give each
		// step's resident pages back, as the engine does after a load
		// (release.go), or a 10,000-mailbox file peaks at 270 MB RSS.
		if err := s.ReleaseMemory(); err != nil {
			s.log.Debug("boltstore: releasing the map during the upgrade", "path", s.path, "err", err)
		}
	}
	s.log.Info("boltstore: store file upgraded: each mailbox's window is one value in its bucket, a status written alone has a bucket of its own", "path", s.path,
		"from_schema", version, "to_schema", SchemaVersion, "windows", converted, "damaged", damaged, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// upgradeStep converts the mailboxes of about budget bytes of schema-2
// windows or schema-1 rows of a file of schema version from, which it
// marks as being upgraded (keyUpgradeFrom). When none is left it removes
// what the old schemas kept besides them and the mark (finished). It returns how many windows it converted and which
// mailboxes' schema-1 rows could not be decoded: their rows are dropped
// and their checkpoint cleared, so the engine reads them again, as for a
// mailbox never loaded (the outbox and everything else stay). A schema-2
// window is moved as it is, not decoded.
func (s *Store) upgradeStep(tx *bolt.Tx, from, budget int) (finished bool, converted int, damaged []string, err error) {
	meta := tx.Bucket(bucketMeta)
	schema := fmt.Appendf(nil, "%d", SchemaVersion)
	if meta.Get(keyUpgradeFrom) == nil || !bytes.Equal(meta.Get(keySchema), schema) {
		// The first step, or the first of this calsync on a file whose
		// upgrade an older one began (marked with its own version, which
		// it would go on reading as finished once its steps are done).
		if err := meta.Put(keyUpgradeFrom, fmt.Appendf(nil, "%d", from)); err != nil {
			return false, 0, nil, err
		}
		if err := meta.Put(keySchema, schema); err != nil {
			return false, 0, nil, err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketStatuses); err != nil {
			return false, 0, nil, err
		}
	}
	used := 0
	if wb := tx.Bucket(bucketWindows2); wb != nil {
		var more bool
		if more, converted, err = s.moveWindows2(tx, wb, budget, &used); err != nil || more {
			return false, converted, nil, err
		}
	}
	fromRows := tx.Bucket(bucketOccurrences1) != nil
	if fromRows {
		var more bool
		var n int
		more, n, damaged, err = s.convertRows1(tx, budget, &used)
		converted += n
		if err != nil || more {
			return false, converted, damaged, err
		}
	}
	// Done. Schema 1's records lose "longest" (those with a window lost it
	// with its conversion). A mailbox whose window had no occurrences has
	// no window value, which reads as an empty window.
	if fromRows {
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
	}
	if tx.Bucket(bucketWindows2) != nil {
		if err := tx.DeleteBucket(bucketWindows2); err != nil {
			return false, 0, nil, err
		}
	}
	return true, converted, damaged, meta.Delete(keyUpgradeFrom)
}

// moveWindows2 moves schema-2 windows (windows/<smtp>/"w") into their
// mailboxes' buckets until *used reaches budget; more tells whether any
// is left.
func (s *Store) moveWindows2(tx *bolt.Tx, wb *bolt.Bucket, budget int, used *int) (more bool, moved int, err error) {
	mailboxes := tx.Bucket(bucketMailboxes)
	c := wb.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		if *used >= budget {
			return true, moved, nil
		}
		smtp := bytes.Clone(k) // k lives in the map; the delete below frees its page
		var val []byte
		if b := wb.Bucket(smtp); b != nil {
			val = bytes.Clone(b.Get(keyWindow))
			err = wb.DeleteBucket(smtp)
		} else {
			err = wb.Delete(smtp) // schema 2 wrote no plain value here; nothing reads one
		}
		if err != nil {
			return false, moved, fmt.Errorf("remove the schema-2 window of %s: %w", smtp, err)
		}
		*used += len(smtp) + len(val)
		mb := mailboxes.Bucket(smtp)
		if mb == nil || val == nil {
			continue // a window of no mailbox: DeleteMailbox removed both, nothing reads it
		}
		if err := putUpgradedWindow(mb, val); err != nil {
			return false, moved, fmt.Errorf("write the window of %s: %w", smtp, err)
		}
		moved++
	}
	return false, moved, nil
}

// convertRows1 converts the schema-1 rows of whole mailboxes into window
// values in their buckets until *used reaches budget; more tells whether
// any row is left.
func (s *Store) convertRows1(tx *bolt.Tx, budget int, used *int) (more bool, converted int, damaged []string, err error) {
	ob := tx.Bucket(bucketOccurrences1)
	c := ob.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		if *used >= budget {
			return true, converted, damaged, nil
		}
		smtp, _, _ := bytes.Cut(k, []byte{0}) // schema 1 refused addresses with NUL
		prefix := append(bytes.Clone(smtp), 0)
		smtp = prefix[:len(smtp)] // k lives in the map; the deletes below may reuse its page
		var keys [][]byte
		var occs []calendar.Occurrence
		var bad error
		for k, v := c.Seek(smtp); k != nil && (bytes.Equal(k, smtp) || bytes.HasPrefix(k, prefix)); k, v = c.Next() {
			keys = append(keys, bytes.Clone(k))
			*used += len(k) + len(v)
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
				return false, converted, damaged, err
			}
		}
		mb := tx.Bucket(bucketMailboxes).Bucket(smtp)
		if mb == nil {
			continue // rows of no mailbox: DeleteMailbox removes both, nothing reads these
		}
		if bad != nil {
			damaged = append(damaged, string(smtp))
			if err := s.mutateRecord(tx, string(smtp), func(_ *bolt.Bucket, doc *recordDoc) error {
				doc.Checkpoint = store.Checkpoint{}
				return nil
			}); err != nil {
				return false, converted, damaged, err
			}
			continue
		}
		// Keys sorted by start, then item id: the order a window keeps.
		val, err := appendWindow(nil, s.opts.Encoding, occs)
		if err != nil {
			return false, converted, damaged, fmt.Errorf("encode the window of %s: %w", smtp, err)
		}
		if err := putUpgradedWindow(mb, val); err != nil {
			return false, converted, damaged, err
		}
		converted++
	}
	return false, converted, damaged, nil
}

// putUpgradedWindow writes a mailbox's window into its bucket and drops
// schema 1's "longest" there in the same transaction. Left for the last
// step, the delete would rewrite every mailbox's leaf, window included, in
// one transaction: the whole file's windows in memory and in new pages at
// once (a 10,000-mailbox schema-1 file peaked at 583 MiB RSS and grew
// from 224 to 355 MiB).
func putUpgradedWindow(mb *bolt.Bucket, val []byte) error {
	if err := mb.Put(keyWindow, val); err != nil {
		return err
	}
	return mb.Delete(keyLongest1)
}
