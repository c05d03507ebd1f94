package boltstore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calsync/calsync/store/boltstore"
)

// A read-only open (calsync check) reads what calsync run stored and
// leaves the file byte for byte as it was: no free list saved at Close,
// and a write fails instead of landing.
func TestReadOnlyOpenChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calsync.db")
	rw, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.SaveDocument(t.Context(), "users", []byte(`{"kept":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	before := readBytes(t, path)

	ro, err := boltstore.Open(path, boltstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open: %v", err)
	}
	doc, err := ro.LoadDocument(t.Context(), "users")
	if err != nil || string(doc) != `{"kept":1}` {
		t.Errorf("read-only LoadDocument = %q, %v; want the stored document", doc, err)
	}
	if err := ro.SaveDocument(t.Context(), "users", []byte(`{"kept":2}`)); err == nil {
		t.Error("a write through a read-only open succeeded")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readBytes(t, path), before) {
		t.Error("a read-only open changed the file")
	}
}

// A file of the previous schema is refused by a read-only open, named,
// with what calsync run will do, and not upgraded: an older calsync must
// still open it after a check of the new one.
func TestReadOnlyOpenRefusesAnOlderSchemaAndLeavesItAlone(t *testing.T) {
	path := copySchema2(t)
	before := readBytes(t, path)
	_, err := boltstore.Open(path, boltstore.Options{ReadOnly: true})
	if !errors.Is(err, boltstore.ErrOlderSchema) {
		t.Fatalf("read-only Open of a schema-2 file: %v, want ErrOlderSchema", err)
	}
	for _, want := range []string{path, "schema 2", "calsync run upgrades it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !bytes.Equal(readBytes(t, path), before) {
		t.Error("a read-only open changed the schema-2 file")
	}
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
