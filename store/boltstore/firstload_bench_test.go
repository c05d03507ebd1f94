package boltstore_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/storetest"
)

// BenchmarkFirstLoad is the store's part of an initial load: every
// operation is the first CommitWindow of a new mailbox (30 occurrences,
// with its "live" status, as the engine writes it), from 16 writers at
// once, into a store without fsync (calsync bench's setting). It is the
// store's share of the load's CPU in isolation (docs/BENCHMARKS.md).
func BenchmarkFirstLoad(b *testing.B) {
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	win := calendar.Window{Start: start, End: start.Add(15 * 24 * time.Hour)}
	occs := storetest.SampleOccurrences("bench@example.com", 30, start, 0)
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "load.db"), boltstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				smtp := fmt.Sprintf("user%07d@example.com", i)
				cp := store.Checkpoint{Window: win, LoadedAt: start, SyncState: "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt", NotificationMode: "streaming"}
				st := store.MailboxStatus{SMTP: smtp, State: "subscribed", Group: "group-1", EWSURL: "https://mail.example.com/EWS/Exchange.asmx", TimeZone: "Europe/Berlin", LastVerified: start, Occurrences: len(occs)}
				if err := s.CommitWindow(b.Context(), smtp, store.WindowCommit{Occurrences: occs, Checkpoint: cp, Status: &st}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
