package boltstore

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkReadOnly is init for a read-only open: the same checks of the
// file's schema, without creating, upgrading or continuing anything. A
// read-only Store reads the current layout only, so a file calsync run
// would upgrade first is refused rather than read wrongly.
func (s *Store) checkReadOnly() error {
	return s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: %s has no calsync metadata (a new or foreign file); calsync run creates a store there at its start", ErrCorrupt, s.path)
		}
		var version int
		if _, err := fmt.Sscanf(string(meta.Get(keySchema)), "%d", &version); err != nil || version < 1 {
			return fmt.Errorf("%w: %s has an unreadable schema version %q", ErrCorrupt, s.path, meta.Get(keySchema))
		}
		switch {
		case version > SchemaVersion:
			return fmt.Errorf("%w: %s has schema version %d, this calsync reads up to %d; run the newer calsync or move the file aside", ErrCorrupt, s.path, version, SchemaVersion)
		case version < SchemaVersion || meta.Get(keyUpgradeFrom) != nil:
			return fmt.Errorf("%w: %s is of schema %s (upgrade mark %q); calsync run upgrades it to %d at its start, a read-only open does not", ErrOlderSchema, s.path, meta.Get(keySchema), meta.Get(keyUpgradeFrom), SchemaVersion)
		}
		for _, b := range bucketsOf(version) {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: %s lacks bucket %q; move the file aside and restart calsync to rebuild it", ErrCorrupt, s.path, b)
			}
		}
		return nil
	})
}
