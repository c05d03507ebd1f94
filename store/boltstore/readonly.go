package boltstore

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkReadOnly is init for a read-only open: the same checks of the
// file's schema (schemaOf), without creating, upgrading or continuing
// anything. A read-only Store reads the current layout only, so a file
// calsync run would upgrade first is refused rather than read wrongly.
func (s *Store) checkReadOnly() error {
	return s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: %s has no calsync metadata (a new or foreign file); calsync run creates a store there at its start", ErrCorrupt, s.path)
		}
		version, err := s.schemaOf(tx, meta)
		if err == nil && version < SchemaVersion {
			err = fmt.Errorf("%w: %s is of schema %d; calsync run upgrades it to %d at its start, a read-only open does not", ErrOlderSchema, s.path, version, SchemaVersion)
		}
		return err
	})
}
