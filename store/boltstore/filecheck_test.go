package boltstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
)

// fillStore writes enough occurrences that the file spans many pages.
func fillStore(t *testing.T, path string) {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	w := calendar.Window{Start: start.Add(-time.Hour), End: start.Add(30 * 24 * time.Hour)}
	for u := range 20 {
		var occs []calendar.Occurrence
		for i := range 100 {
			at := start.Add(time.Duration(i) * time.Hour)
			occs = append(occs, calendar.Occurrence{ItemID: fmt.Sprintf("item-%d-%d", u, i), Subject: strings.Repeat("s", 100), Start: at, End: at.Add(time.Hour)})
		}
		if err := s.CommitWindow(t.Context(), fmt.Sprintf("user%d@example.com", u), store.WindowCommit{Occurrences: occs, Checkpoint: store.Checkpoint{Window: w}}); err != nil {
			t.Fatal(err)
		}
	}
}

// A store file cut short (a full disk, a copy interrupted) is an error that
// names the file and what to do; before, bbolt crashed the process.
func TestOpenTruncatedFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calsync.db")
	fillStore(t, path)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{info.Size() / 2, 5 * 4096, 4096 + 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "cut.db")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cut, data[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := boltstore.Open(cut, boltstore.Options{LockTimeout: 50 * time.Millisecond})
			if err == nil {
				s.Close()
				t.Fatalf("Open accepted a file cut to %d of %d bytes", size, info.Size())
			}
			if !errors.Is(err, boltstore.ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
			for _, want := range []string{cut, "move the file aside"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// An empty file becomes a new store, with a warning that names the file.
func TestOpenEmptyFileWarns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calsync.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := boltstore.Open(path, boltstore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Open on an empty file: %v", err)
	}
	s.Close()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), path) || !strings.Contains(logs.String(), "empty") {
		t.Errorf("opening an empty store file logged %q, want a warning naming the file", logs.String())
	}
}
