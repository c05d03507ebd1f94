package boltstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/storetest"
)

func benchStore(opts boltstore.Options) storetest.BenchFactory {
	return func(b *testing.B) store.Store {
		s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), opts)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
}

// BenchmarkStore runs the shared store benchmarks with fsync on (the
// production setting), with batching, and with JSON values for comparison.
func BenchmarkStore(b *testing.B) {
	b.Run("binary", func(b *testing.B) { storetest.Bench(b, benchStore(boltstore.Options{})) })
	b.Run("binary-batch2ms", func(b *testing.B) {
		storetest.Bench(b, benchStore(boltstore.Options{BatchDelay: 2 * time.Millisecond}))
	})
	b.Run("json", func(b *testing.B) {
		storetest.Bench(b, benchStore(boltstore.Options{Encoding: boltstore.EncodingJSON}))
	})
}

// BenchmarkDiskPerMailbox fills a store with CALSYNC_BENCH_MAILBOXES
// mailboxes (default 10,000) of 30 occurrences each and reports the file
// size per mailbox. It does the work once, whatever b.N is.
func BenchmarkDiskPerMailbox(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("CALSYNC_BENCH_MAILBOXES")); err == nil && v > 0 {
		n = v
	}
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	win := calendar.Window{Start: start, End: start.Add(15 * 24 * time.Hour)}
	for _, enc := range []boltstore.Encoding{boltstore.EncodingBinary, boltstore.EncodingJSON} {
		b.Run(string(enc), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "size.db")
			s, err := boltstore.Open(path, boltstore.Options{Encoding: enc, NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				smtp := fmt.Sprintf("user%05d@example.com", i)
				if err := s.CommitWindow(b.Context(), smtp, store.WindowCommit{
					Occurrences: storetest.SampleOccurrences(smtp, 30, start, 0),
					Checkpoint:  store.Checkpoint{Window: win, SyncState: "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt", NotificationMode: "streaming"},
				}); err != nil {
					b.Fatal(err)
				}
				if err := s.SaveStatus(b.Context(), store.MailboxStatus{SMTP: smtp, State: "subscribed", Group: "EXCH01", Connection: "stream-1", LastVerified: start}); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/float64(n), "bytes/mailbox")
			b.ReportMetric(float64(fi.Size())/(1<<20), "MiB-total")
		})
	}
}

// BenchmarkSingleItemChange is what a change of one item costs the store:
// the window is always committed whole (store.WindowCommit), after a read
// from Exchange ("commit") or, when a sync-state check carried the item,
// after reading the stored window and patching it ("read+commit",
// engine/syncpatch.go). A store of 1,000 mailboxes with windows of 50
// occurrences, or 100 with 500 (a heavy calendar); without fsync (the CPU)
// and with it (production).
func BenchmarkSingleItemChange(b *testing.B) {
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	win := calendar.Window{Start: start, End: start.Add(15 * 24 * time.Hour)}
	cp := store.Checkpoint{Window: win, SyncState: "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt", NotificationMode: "streaming"}
	for _, size := range []struct{ mailboxes, items int }{{1000, 50}, {100, 500}} {
		for _, sync := range []bool{false, true} {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "change.db"), boltstore.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			mailbox := func(i int) string { return fmt.Sprintf("user%05d@example.com", i%size.mailboxes) }
			occs := storetest.SampleOccurrences("bench@example.com", size.items, start, 0)
			for i := range size.mailboxes {
				if err := s.CommitWindow(b.Context(), mailbox(i), store.WindowCommit{Occurrences: occs, Checkpoint: cp}); err != nil {
					b.Fatal(err)
				}
			}
			path := s.Path()
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			if s, err = boltstore.Open(path, boltstore.Options{NoSync: !sync}); err != nil {
				b.Fatal(err)
			}
			name := fmt.Sprintf("window%d/%s", size.items, map[bool]string{false: "nosync", true: "fsync"}[sync])
			b.Run(name+"/commit", func(b *testing.B) {
				changed := slices.Clone(occs)
				i := 0
				for b.Loop() {
					changed[i%size.items].ChangeKey = strconv.Itoa(i)
					if err := s.CommitWindow(b.Context(), mailbox(i), store.WindowCommit{Occurrences: changed, Checkpoint: cp}); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run(name+"/read+commit", func(b *testing.B) {
				i := 0
				for b.Loop() {
					stored, err := s.Occurrences(b.Context(), mailbox(i), win.Start, win.End)
					if err != nil || len(stored) != size.items {
						b.Fatalf("%d stored occurrences, %v", len(stored), err)
					}
					stored[i%size.items].ChangeKey = strconv.Itoa(i)
					if err := s.CommitWindow(b.Context(), mailbox(i), store.WindowCommit{Occurrences: stored, Checkpoint: cp}); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
