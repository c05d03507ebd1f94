package boltstore_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/storetest"
)

// writeMailboxes fills a new store file with n mailboxes of the given
// number of occurrences, as an initial load leaves it, and closes it.
func writeMailboxes(tb testing.TB, path string, n, occurrences int) {
	tb.Helper()
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	cp := store.Checkpoint{Window: calendar.Window{Start: start, End: start.Add(15 * 24 * time.Hour)}, SyncState: "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt"}
	for i := range n {
		smtp := fmt.Sprintf("user%06d@example.com", i)
		occs := storetest.SampleOccurrences(smtp, occurrences, start, 0)
		st := store.MailboxStatus{SMTP: smtp, State: "subscribed"}
		if err := s.CommitWindow(tb.Context(), smtp, store.WindowCommit{Occurrences: occs, Checkpoint: cp, Status: &st}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkOpenLarge opens a store file of 50,000 mailboxes of 8
// occurrences (~270 MiB, about what calsync bench -mailboxes 50000 leaves)
// and reports the time of the open, the process's peak RSS during it
// (VmHWM, reset before) and how much of the file stays resident in this
// process after it (smaps): "closed" as calsync's Close leaves the file,
// "no-free-list" as an older calsync or a crash leaves it. Writing the
// file takes about 10 s; run it on its own:
//
//	go test -run '^$' -bench OpenLarge -benchtime 2x ./store/boltstore/
//
// With BOLTSTORE_OPEN_FILE set it opens a copy of that file instead
// (a schema-1 file is upgraded by each open: the upgrade's peak).
func BenchmarkOpenLarge(b *testing.B) {
	if src := os.Getenv("BOLTSTORE_OPEN_FILE"); src != "" {
		benchOpenCopy(b, src)
		return
	}
	path := filepath.Join(b.TempDir(), "large.db")
	writeMailboxes(b, path, 50000, 8)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, saved := range []bool{true, false} {
		b.Run(map[bool]string{true: "closed", false: "no-free-list"}[saved], func(b *testing.B) {
			for b.Loop() {
				if !saved {
					b.StopTimer()
					dropFreelist(b, path)
					b.StartTimer()
				}
				measureOpen(b, path, boltstore.Options{NoSync: true})
			}
			b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
		})
	}
}

// benchOpenCopy opens a fresh copy of src per iteration and reports what
// BenchmarkOpenLarge does.
func benchOpenCopy(b *testing.B, src string) {
	path := filepath.Join(b.TempDir(), "copy.db")
	for b.Loop() {
		b.StopTimer()
		copyFile(b, src, path)
		b.StartTimer()
		measureOpen(b, path, boltstore.Options{})
	}
}

func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}

// dropFreelist leaves the file at path as an older calsync (or a crash)
// did: its meta page points to no saved free list.
func dropFreelist(tb testing.TB, path string) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Update(func(*bolt.Tx) error { return nil }); err != nil {
		tb.Fatal(err)
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

// openPeakKB opens the store at path and returns how far the process's
// resident memory rose during the open (VmHWM reset before it) and the
// store.
func openPeakKB(t *testing.T, path string) (int64, *boltstore.Store) {
	t.Helper()
	before := statusKB(t, "VmRSS:")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS (%v); the test needs Linux ≥ 4.0", err)
	}
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return statusKB(t, "VmHWM:") - before, s
}

// TestOpenAfterCloseDoesNotReadTheWholeFile: Close saves the free list, so
// the next Open reads a few pages instead of walking the file (a 50,000-
// mailbox file was resident in full after Open). A file without a saved
// list (an older calsync's, or after a crash) is walked once and its
// pages given back; its data is intact and its next Close saves the list.
func TestOpenAfterCloseDoesNotReadTheWholeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calsync.db")
	writeMailboxes(t, path, 2000, 8)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fileKB := fi.Size() >> 10

	dropFreelist(t, path)
	rise, s := openPeakKB(t, path)
	if rise < fileKB/2 {
		t.Fatalf("opening a file without a saved free list raised RSS by %d KiB, file %d KiB: it is not walked, the test measures nothing", rise, fileKB)
	}
	if kb := mappedKB(t, path); kb > fileKB/8 {
		t.Errorf("after Open of a file without a saved free list %d of %d KiB stay resident; Open should give the walked pages back", kb, fileKB)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	readLayout(t, path) // bbolt's check: the saved free list names exactly the unreachable pages

	rise, s = openPeakKB(t, path)
	if rise > fileKB/8 {
		t.Errorf("Open of a file calsync closed raised RSS by %d KiB, file %d KiB; want a few pages (the saved free list)", rise, fileKB)
	}
	recs, err := s.Mailboxes(t.Context())
	if err != nil || len(recs) != 2000 {
		t.Fatalf("Mailboxes() = %d records, %v; want 2000", len(recs), err)
	}
	// The reopened store writes as before (the free list is valid).
	writeMore := store.WindowCommit{Occurrences: storetest.SampleOccurrences("x@example.com", 8, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), 1),
		Checkpoint: store.Checkpoint{Window: calendar.Window{Start: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}}}
	for _, smtp := range []string{"user000001@example.com", "new@example.com"} {
		if err := s.CommitWindow(t.Context(), smtp, writeMore); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	readLayout(t, path)
}

// measureOpen opens path with its peak RSS reset and reports the open's
// time, the process's peak RSS and how much of the file is resident after.
func measureOpen(b *testing.B, path string, opts boltstore.Options) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("reset the peak RSS: %v", err)
	}
	began := time.Now()
	s, err := boltstore.Open(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(began).Milliseconds()), "open-ms")
	b.ReportMetric(float64(statusKB(b, "VmHWM:"))/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(mappedKB(b, path))/1024, "resident-MiB")
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}
