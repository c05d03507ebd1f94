package boltstore_test

import (
	"bufio"
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
	"github.com/calsync/calsync/store/storetest"
)

// BenchmarkStatusWrites is what writes of statuses cost the file: a
// store of CALSYNC_BENCH_MAILBOXES mailboxes (default 10,000) with a
// 30-occurrence window and a status each, closed and opened again, then
// the stop's SaveStatuses of every mailbox's "stopped", a state change of
// each mailbox alone (SaveStatus), and a window commit carrying a status
// for each (a reload after the stop). Each phase reports the bytes and
// write calls the process passed to the kernel (/proc/self/io wchar and
// syscw, which count pwrite whether or not it reaches the disk: the
// store is opened without fsync). The work is done once, whatever b.N is.
func BenchmarkStatusWrites(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("CALSYNC_BENCH_MAILBOXES")); err == nil && v > 0 {
		n = v
	}
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	cp := store.Checkpoint{Window: calendar.Window{Start: start, End: start.Add(15 * 24 * time.Hour)}, SyncState: "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt", NotificationMode: "streaming"}
	smtp := func(i int) string { return fmt.Sprintf("user%05d@example.com", i) }
	status := func(i int, state string) store.MailboxStatus {
		return store.MailboxStatus{SMTP: smtp(i), State: state, Group: "EXCH01", Connection: "stream-1", EWSURL: "https://mail.example.com/EWS/Exchange.asmx",
			TimeZone: "Europe/Berlin", LastVerified: start, Occurrences: 30}
	}
	path := filepath.Join(b.TempDir(), "statuses.db")
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		st := status(i, "live")
		if err := s.CommitWindow(b.Context(), smtp(i), store.WindowCommit{Occurrences: storetest.SampleOccurrences(smtp(i), 30, start, 0), Checkpoint: cp, Status: &st}); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = boltstore.Open(path, boltstore.Options{NoSync: true}); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	phase := func(name string, fn func() error) {
		b.Run(name, func(b *testing.B) {
			bytes0, calls0 := processWrites(b)
			t0 := time.Now()
			if err := fn(); err != nil {
				b.Fatal(err)
			}
			took := time.Since(t0)
			bytes1, calls1 := processWrites(b)
			b.ReportMetric(float64(bytes1-bytes0)/(1<<20), "MiB-written")
			b.ReportMetric(float64(bytes1-bytes0)/float64(n), "bytes/mailbox")
			b.ReportMetric(float64(calls1-calls0), "write-calls")
			b.ReportMetric(took.Seconds()*1000, "ms-total")
		})
	}
	phase("stop", func() error {
		sts := make([]store.MailboxStatus, n)
		for i := range sts {
			sts[i] = status(i, "stopped")
		}
		return s.SaveStatuses(b.Context(), sts)
	})
	phase("state-change", func() error {
		for i := range n {
			if err := s.SaveStatus(b.Context(), status(i, "subscribed")); err != nil {
				return err
			}
		}
		return nil
	})
	phase("commit-with-status", func() error {
		for i := range n {
			st := status(i, "live")
			if err := s.CommitWindow(b.Context(), smtp(i), store.WindowCommit{Occurrences: storetest.SampleOccurrences(smtp(i), 30, start, 1), Checkpoint: cp, Status: &st}); err != nil {
				return err
			}
		}
		return nil
	})
}

// processWrites reads the bytes and write calls this process passed to
// the kernel so far (/proc/self/io: wchar, syscw).
func processWrites(b *testing.B) (bytes, calls int64) {
	b.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		b.Skipf("no /proc/self/io: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, _ := strings.Cut(sc.Text(), ": ")
		x, _ := strconv.ParseInt(v, 10, 64)
		switch name {
		case "wchar":
			bytes = x
		case "syscw":
			calls = x
		}
	}
	return bytes, calls
}
