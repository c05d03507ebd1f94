package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// MergeDocumentEntries changes some entries of a named document that is a
// JSON object: the keys of set get their values (JSON), the keys in
// remove are deleted, every other entry stays as it is. It is one
// statement, so instances of a cluster can keep their own entries in one
// shared document without overwriting each other's (the SIP connector's
// entity tags: each instance writes the users it owns). A missing
// document is created.
func (s *Store) MergeDocumentEntries(ctx context.Context, name string, set map[string]json.RawMessage, remove []string) error {
	if name == "" {
		return errors.New("pgstore: document without name")
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	if set == nil {
		set = map[string]json.RawMessage{}
	}
	patch, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("pgstore: document %q: entries are not JSON: %w", name, err)
	}
	if remove == nil {
		remove = []string{}
	}
	// An empty stored document counts as an empty object.
	_, err = s.pool.Exec(ctx, `INSERT INTO documents (name, doc) VALUES ($1, convert_to(($2::jsonb - $3::text[])::text, 'UTF8'))
		ON CONFLICT (name) DO UPDATE SET doc = convert_to(
			((COALESCE(NULLIF(convert_from(documents.doc, 'UTF8'), ''), '{}')::jsonb || $2::jsonb) - $3::text[])::text, 'UTF8')`,
		name, string(patch), remove)
	if err != nil {
		return fmt.Errorf("pgstore: merge entries into document %q: %w", name, err)
	}
	return nil
}
