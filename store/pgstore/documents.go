package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/store"
)

// SavePresence stores the last published presence document of a user.
func (s *Store) SavePresence(ctx context.Context, smtp string, doc []byte) error {
	return s.SavePresences(ctx, map[string][]byte{smtp: doc})
}

// SavePresences stores the presence documents of several users in one
// transaction: all of them, or none when an address is empty.
func (s *Store) SavePresences(ctx context.Context, docs map[string][]byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	for smtp := range docs {
		if smtp == "" {
			return errors.New("pgstore: presence without user address")
		}
	}
	if len(docs) == 0 {
		return nil
	}
	smtps := make([]string, 0, len(docs))
	values := make([][]byte, 0, len(docs))
	for smtp, doc := range docs {
		smtps = append(smtps, smtp)
		values = append(values, nonNil(doc))
	}
	// One statement is one transaction (or part of an InTx's).
	_, err := s.exec(ctx, `INSERT INTO presence (smtp, doc) SELECT * FROM unnest($1::text[], $2::bytea[])
		ON CONFLICT (smtp) DO UPDATE SET doc = excluded.doc`, smtps, values)
	if err != nil {
		return fmt.Errorf("pgstore: save presence of %d users: %w", len(docs), err)
	}
	return nil
}

// LoadPresence returns all stored presence documents by SMTP address.
func (s *Store) LoadPresence(ctx context.Context) (map[string][]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT smtp, doc FROM presence`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: load presence: %w", err)
	}
	out := make(map[string][]byte)
	var smtp string
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&smtp, &doc}, func() error {
		out[smtp] = emptyNil(append([]byte(nil), doc...))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: load presence: %w", err)
	}
	return out, nil
}

// SaveDocument stores a named document.
func (s *Store) SaveDocument(ctx context.Context, name string, doc []byte) error {
	if name == "" {
		return errors.New("pgstore: document without name")
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO documents (name, doc) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET doc = excluded.doc`, name, nonNil(doc))
	if err != nil {
		return fmt.Errorf("pgstore: save document %q: %w", name, err)
	}
	return nil
}

// LoadDocument returns a named document, or store.ErrNotFound.
func (s *Store) LoadDocument(ctx context.Context, name string) ([]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT doc FROM documents WHERE name = $1`, name).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: document %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: document %q: %w", name, err)
	}
	return emptyNil(doc), nil
}

// LoadPresenceOf returns the stored presence documents of the given users
// (those without one are left out): what a new owner adopts on takeover.
func (s *Store) LoadPresenceOf(ctx context.Context, smtps []string) (map[string][]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT smtp, doc FROM presence WHERE smtp = ANY($1::text[])`, smtps)
	if err != nil {
		return nil, fmt.Errorf("pgstore: load presence of %d users: %w", len(smtps), err)
	}
	out := make(map[string][]byte)
	var smtp string
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&smtp, &doc}, func() error {
		out[smtp] = emptyNil(append([]byte(nil), doc...))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: load presence of %d users: %w", len(smtps), err)
	}
	return out, nil
}
