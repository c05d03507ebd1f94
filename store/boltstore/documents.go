package boltstore

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/store"
)

// Documents live in the meta bucket under "doc:" + name, so that adding
// them needed no new bucket (files of earlier versions open unchanged).
func documentKey(name string) []byte { return []byte("doc:" + name) }

// SaveDocument stores a named document.
func (s *Store) SaveDocument(ctx context.Context, name string, doc []byte) error {
	if name == "" {
		return fmt.Errorf("boltstore: document without name")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(documentKey(name), append([]byte{}, doc...))
	})
}

// LoadDocument returns a named document, or store.ErrNotFound.
func (s *Store) LoadDocument(ctx context.Context, name string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(documentKey(name))
		if v == nil {
			return fmt.Errorf("boltstore: document %q: %w", name, store.ErrNotFound)
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}
