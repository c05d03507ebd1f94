package boltstore

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// UpgradeOneStep runs one upgrade transaction of at most budget bytes of
// old rows on the file at path and closes it, as if calsync had stopped
// right after: the crash test of the upgrade.
func UpgradeOneStep(path string, budget int) (finished bool, err error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true})
	if err != nil {
		return false, err
	}
	defer db.Close()
	s := &Store{db: db, path: path, opts: Options{Encoding: EncodingBinary}}
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(keyUpgradeFrom)
		if v == nil {
			v = meta.Get(keySchema)
		}
		var from int
		if _, err := fmt.Sscanf(string(v), "%d", &from); err != nil {
			return err
		}
		var err error
		finished, _, _, err = s.upgradeStep(tx, from, budget)
		return err
	})
	return finished, err
}

// SetUpgradeBatchBytes sets the upgrade's transaction size until the test ends.
func SetUpgradeBatchBytes(cleanup func(func()), n int) {
	old := upgradeBatchBytes
	upgradeBatchBytes = n
	cleanup(func() { upgradeBatchBytes = old })
}

// CloseWaiting reports whether a Close waits for operations of s to end:
// while one does, the store's lock lets no new holder in (TryRLock fails
// only while a writer waits for it or holds it, and Close holds it only
// once every operation has ended).
func CloseWaiting(s *Store) bool {
	if s.mu.TryRLock() {
		s.mu.RUnlock()
		return false
	}
	return true
}

// MailboxPage returns the page of the file that holds mailbox smtp's
// bucket (0 while the bucket is inline in its parent's page) and the
// mailbox's entry in "statuses" (nil: none). bolt copies a page it
// changes to a new one, so an unchanged page number means an unchanged
// page.
func MailboxPage(s *Store, smtp string) (page uint64, statusEntry []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMailboxes).Bucket([]byte(smtp))
		if mb == nil {
			return fmt.Errorf("no bucket of %s", smtp)
		}
		page = uint64(mb.Root())
		statusEntry = bytes.Clone(tx.Bucket(bucketStatuses).Get([]byte(smtp)))
		return nil
	})
	return page, statusEntry, err
}
