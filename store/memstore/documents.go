package memstore

import (
	"context"
	"fmt"

	"github.com/calsync/calsync/store"
)

// SaveDocument stores a named document.
func (s *Store) SaveDocument(ctx context.Context, name string, doc []byte) error {
	if name == "" {
		return fmt.Errorf("memstore: document without name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	if s.documents == nil {
		s.documents = map[string][]byte{}
	}
	s.documents[name] = append([]byte(nil), doc...)
	return nil
}

// LoadDocument returns a named document, or store.ErrNotFound.
func (s *Store) LoadDocument(ctx context.Context, name string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return nil, err
	}
	doc, ok := s.documents[name]
	if !ok {
		return nil, fmt.Errorf("memstore: document %q: %w", name, store.ErrNotFound)
	}
	return append([]byte(nil), doc...), nil
}
