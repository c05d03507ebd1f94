package boltstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
)

func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calsync.db")
	first, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// bbolt uses flock, which also excludes a second open in this process.
	_, err = boltstore.Open(path, boltstore.Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, boltstore.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	for _, want := range []string{path, "another calsync", "50ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("lock error %q does not mention %q", err, want)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := boltstore.Open(path, boltstore.Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after the holder closed: %v", err)
	}
	again.Close()
}

func TestOpenCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	db, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other-app")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	newer := filepath.Join(dir, "newer.db")
	s, err := boltstore.Open(newer, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	setMeta(t, newer, "schema", "99")
	// The mark of an unfinished upgrade (upgrade.go) naming no older schema.
	marked := filepath.Join(dir, "marked.db")
	s, err = boltstore.Open(marked, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	setMeta(t, marked, "upgrade_from", "4")

	tests := []struct {
		name    string
		path    string
		content []byte // written to path when not nil
		want    []string
	}{
		{"garbage", filepath.Join(dir, "garbage.db"), []byte(strings.Repeat("not a database ", 2000)), []string{"garbage.db", "move the file aside"}},
		{"truncated header", filepath.Join(dir, "short.db"), []byte("bolt"), []string{"short.db"}},
		{"another program's bolt file", foreign, nil, []string{"foreign.db", "without calsync metadata"}},
		{"newer schema", newer, nil, []string{"newer.db", "schema version 99", "newer calsync"}},
		{"unreadable upgrade mark", marked, nil, []string{"marked.db", `"upgrade_from" "4"`, "move the file aside"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.content != nil {
				if err := os.WriteFile(tc.path, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := boltstore.Open(tc.path, boltstore.Options{LockTimeout: 50 * time.Millisecond})
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a bad file")
			}
			if !errors.Is(err, boltstore.ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestCorruptOccurrenceIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calsync.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	w := calendar.Window{Start: start.Add(-time.Hour), End: start.Add(24 * time.Hour)}
	o := calendar.Occurrence{ItemID: "a", Start: start, End: start.Add(time.Hour)}
	if err := s.CommitWindow(t.Context(), "alice@example.com", store.WindowCommit{Occurrences: []calendar.Occurrence{o}, Checkpoint: store.Checkpoint{Window: w}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		mb := tx.Bucket([]byte("mailboxes")).Bucket([]byte("alice@example.com"))
		v := mb.Get([]byte("w"))
		return mb.Put([]byte("w"), append([]byte(nil), v[:len(v)/2]...))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Occurrences(t.Context(), "alice@example.com", w.Start, w.End)
	if !errors.Is(err, boltstore.ErrCorrupt) || !strings.Contains(err.Error(), "alice@example.com") || !strings.Contains(err.Error(), path) {
		t.Errorf("reading a damaged occurrence: %v, want ErrCorrupt naming mailbox and file", err)
	}
}

func setMeta(t *testing.T, path, key, value string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte(key), []byte(value)) }); err != nil {
		t.Fatal(err)
	}
}

// Schema 1 refused an item id above bbolt's 32 KiB key limit (the id was
// part of the key); since schema 2 it lives in the window value, and an
// address of that size is a bucket name, which bbolt does not limit.
func TestLongItemIDsAndAddressesAreStored(t *testing.T) {
	s := openTemp(t, boltstore.Options{})
	defer s.Close()
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	w := calendar.Window{Start: start.Add(-time.Hour), End: start.Add(24 * time.Hour)}
	huge := calendar.Occurrence{ItemID: strings.Repeat("x", 40000), Start: start.Add(2 * time.Hour), End: start.Add(3 * time.Hour)}
	a := calendar.Occurrence{ItemID: "a", Start: start, End: start.Add(time.Hour)}
	long := strings.Repeat("l", 40000) + "@example.com"
	for _, smtp := range []string{"alice@example.com", long} {
		if err := s.CommitWindow(t.Context(), smtp, store.WindowCommit{Occurrences: []calendar.Occurrence{a, huge}, Checkpoint: store.Checkpoint{Window: w}}); err != nil {
			t.Fatalf("a 40 KB item id: %v", err)
		}
		occs, err := s.Occurrences(t.Context(), smtp, w.Start, w.End)
		if err != nil || len(occs) != 2 || occs[0].ItemID != "a" || occs[1].ItemID != huge.ItemID {
			t.Errorf("%.20s…: %d occurrences, %v; want a and the long one", smtp, len(occs), err)
		}
	}
	if err := s.DeleteMailbox(t.Context(), long); err != nil {
		t.Fatal(err)
	}
}
