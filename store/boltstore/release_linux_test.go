package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
)

// mappedKB is this process's resident memory mapping path (smaps).
func mappedKB(t testing.TB, path string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var kb int64
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = len(f) >= 6 && f[5] == path
		case in && len(f) >= 2 && f[0] == "Rss:":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			kb += n
		}
	}
	return kb
}

// statusKB is a "kB" field of /proc/self/status, e.g. "VmHWM:".
func statusKB(t testing.TB, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func TestReleaseMemoryUnmapsTheFileAndKeepsTheData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calsync.db")
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i := range 300 {
		var occs []calendar.Occurrence
		for j := range 20 {
			at := start.Add(time.Duration(j) * time.Hour)
			occs = append(occs, calendar.Occurrence{ItemID: fmt.Sprintf("item-%d-%d", i, j), Subject: strings.Repeat("x", 100), Start: at, End: at.Add(30 * time.Minute)})
		}
		if err := s.CommitWindow(ctx, fmt.Sprintf("u%d@example.org", i), store.WindowCommit{Occurrences: occs, Checkpoint: store.Checkpoint{Window: calendar.Window{Start: start, End: start.Add(24 * time.Hour)}}}); err != nil {
			t.Fatal(err)
		}
	}
	read := func() {
		t.Helper()
		for i := range 300 {
			got, err := s.Occurrences(ctx, fmt.Sprintf("u%d@example.org", i), start, start.Add(24*time.Hour))
			if err != nil || len(got) != 20 {
				t.Fatalf("Occurrences(u%d) = %d, %v; want 20", i, len(got), err)
			}
		}
	}
	read()
	if kb := mappedKB(t, path); kb == 0 {
		t.Fatalf("the store's map is not resident after reading every mailbox; the test measures nothing")
	}
	if err := s.ReleaseMemory(); err != nil {
		t.Fatalf("ReleaseMemory() = %v", err)
	}
	if kb := mappedKB(t, path); kb != 0 {
		t.Errorf("resident map after ReleaseMemory = %d KiB, want 0", kb)
	}
	read() // the data is still there, mapped again on demand
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseMemory(); err == nil {
		t.Errorf("ReleaseMemory after Close = nil, want ErrClosed")
	}
}
