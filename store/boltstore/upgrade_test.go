package boltstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/memstore"
)

// copySchema1 copies testdata/schema1.db (see schema1_fixture_test.go)
// into a temporary directory.
func copySchema1(t *testing.T) string { return copyFixture(t, "testdata/schema1.db") }

// copySchema2 copies testdata/schema2.db, the same content written at
// schema version 2.
func copySchema2(t *testing.T) string { return copyFixture(t, "testdata/schema2.db") }

func copyFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "calsync.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// schema1Want is what the schema-1 file holds, as memstore keeps it.
func schema1Want(t *testing.T) store.Store {
	t.Helper()
	want := memstore.New()
	for part := range 2 {
		if err := fillSchema1(t.Context(), want, part); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// sameContent fails t where got and want read differently: records,
// every mailbox's whole window and hour by hour, presence, documents and
// the outbox.
func sameContent(t *testing.T, got, want store.Store) {
	t.Helper()
	ctx := t.Context()
	same := func(what string, g, w any, gerr, werr error) {
		t.Helper()
		if !errors.Is(gerr, werr) && (gerr == nil || werr == nil) {
			t.Errorf("%s: error %v, want %v", what, gerr, werr)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got  %+v\n want %+v", what, g, w)
		}
	}
	g, gerr := got.Mailboxes(ctx)
	w, werr := want.Mailboxes(ctx)
	same("Mailboxes", g, w, gerr, werr)
	for _, smtp := range append(slices.Clone(schema1Mailboxes), "frank@example.com") {
		ranges := [][2]time.Time{{schema1Window.Start.Add(-30 * 24 * time.Hour), schema1Window.End.Add(30 * 24 * time.Hour)}}
		for at := schema1Window.Start.Add(-4 * time.Hour); at.Before(schema1Window.End); at = at.Add(7 * time.Hour) {
			ranges = append(ranges, [2]time.Time{at, at.Add(time.Hour)})
		}
		for _, r := range ranges {
			g, gerr := got.Occurrences(ctx, smtp, r[0], r[1])
			w, werr := want.Occurrences(ctx, smtp, r[0], r[1])
			same("Occurrences of "+smtp+" from "+r[0].Format(time.RFC3339), g, w, gerr, werr)
		}
	}
	gp, gerr := got.LoadPresence(ctx)
	wp, werr := want.LoadPresence(ctx)
	same("LoadPresence", gp, wp, gerr, werr)
	gd, gerr := got.LoadDocument(ctx, "directory.last_good")
	wd, werr := want.LoadDocument(ctx, "directory.last_good")
	same("LoadDocument", gd, wd, gerr, werr)
	gm, gerr := got.Due(ctx, "hook", schema1Window.End, 0)
	wm, werr := want.Due(ctx, "hook", schema1Window.End, 0)
	same("Due", gm, wm, gerr, werr)
}

// fileLayout reads what a closed store file holds at the bolt level, and
// fails t when bbolt's own consistency check finds a fault.
type fileLayout struct {
	schema      string
	upgradeFrom string   // meta "upgrade_from": the version an unfinished upgrade started from
	windows     []string // mailboxes with a window in their bucket (schema 3 and 4)
	windows2    []string // keys of schema 2's "windows"
	old         []string // mailboxes with rows in schema 1's "occurrences"
	longest     []string // mailboxes whose record bucket still has "longest"
	buckets     []string // the file's top-level buckets
}

func readLayout(t *testing.T, path string) fileLayout {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var l fileLayout
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check of %s: %v", path, err)
		}
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error { l.buckets = append(l.buckets, string(name)); return nil })
		l.schema = string(tx.Bucket([]byte("meta")).Get([]byte("schema")))
		l.upgradeFrom = string(tx.Bucket([]byte("meta")).Get([]byte("upgrade_from")))
		if b := tx.Bucket([]byte("windows")); b != nil {
			_ = b.ForEach(func(k, _ []byte) error { l.windows2 = append(l.windows2, string(k)); return nil })
		}
		if b := tx.Bucket([]byte("occurrences")); b != nil {
			_ = b.ForEach(func(k, _ []byte) error {
				smtp, _, _ := bytes.Cut(k, []byte{0})
				if len(l.old) == 0 || l.old[len(l.old)-1] != string(smtp) {
					l.old = append(l.old, string(smtp))
				}
				return nil
			})
		}
		mb := tx.Bucket([]byte("mailboxes"))
		return mb.ForEachBucket(func(k []byte) error {
			if mb.Bucket(k).Get([]byte("longest")) != nil {
				l.longest = append(l.longest, string(k))
			}
			if mb.Bucket(k).Get([]byte("w")) != nil {
				l.windows = append(l.windows, string(k))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// schema4Buckets are the top-level buckets of a schema-4 file.
var schema4Buckets = []string{"counts", "dead", "ids", "leases", "mailboxes", "meta", "outbox", "presence", "queue", "statuses"}

// upgraded fails t unless the closed file at path is schema 4 with the
// windows of the given mailboxes in their buckets (default alice, bob and
// erin: schema 1 kept no value for dave's empty window, schema 2 did) and
// nothing of the old schemas.
func upgraded(t *testing.T, path string, windows ...string) {
	t.Helper()
	if windows == nil {
		windows = []string{"alice@example.com", "bob@example.com", "erin@example.com"}
	}
	l := readLayout(t, path)
	if l.schema != "4" || l.upgradeFrom != "" || l.old != nil || l.longest != nil || l.windows2 != nil || !reflect.DeepEqual(l.buckets, schema4Buckets) ||
		!reflect.DeepEqual(l.windows, windows) {
		t.Errorf("after the upgrade the file holds %+v; want schema 4, the windows of %v in their buckets, buckets %v", l, windows, schema4Buckets)
	}
}

func openLogged(t *testing.T, path string, opts boltstore.Options) (*boltstore.Store, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := boltstore.Open(path, opts)
	if err != nil {
		t.Fatalf("Open %s: %v", path, err)
	}
	return s, &logs
}

// reopenedUnchanged closes s, checks the upgraded layout, opens the file
// again (with the other encoding) and fails t unless it reads as want
// without a second upgrade.
func reopenedUnchanged(t *testing.T, s *boltstore.Store, path string, want store.Store, windows ...string) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	upgraded(t, path, windows...)
	s, logs := openLogged(t, path, boltstore.Options{Encoding: boltstore.EncodingJSON})
	defer s.Close()
	sameContent(t, s, want)
	if strings.Contains(logs.String(), "upgraded") {
		t.Errorf("a second open upgraded again: %s", logs)
	}
}

// upgradeOneStep runs one upgrade transaction of one mailbox on the file,
// as if calsync had been killed right after it, and returns its layout.
func upgradeOneStep(t *testing.T, path string) fileLayout {
	t.Helper()
	finished, err := boltstore.UpgradeOneStep(path, 1)
	if err != nil || finished {
		t.Fatalf("one upgrade step: finished %v, %v; want one mailbox converted", finished, err)
	}
	return readLayout(t, path)
}

// continuedUpgrade opens the file (one mailbox per upgrade transaction)
// and fails t unless it reads as the fixture's calls and ends upgraded.
func continuedUpgrade(t *testing.T, path string, windows ...string) {
	t.Helper()
	boltstore.SetUpgradeBatchBytes(t.Cleanup, 1)
	s, _ := openLogged(t, path, boltstore.Options{})
	sameContent(t, s, schema1Want(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	upgraded(t, path, windows...)
}

// A file written by schema-1 boltstore (one key per occurrence, binary
// and JSON values) opens, reads exactly as the data written into it, and
// is converted: schema 4, one window value in the bucket of each mailbox
// with occurrences, no old rows or "longest" keys; it stays equal after a write and a
// second open, which upgrades nothing.
func TestSchema1FileIsUpgradedOnOpen(t *testing.T) {
	path := copySchema1(t)
	if l := readLayout(t, path); l.schema != "1" || !reflect.DeepEqual(l.old, []string{"alice@example.com", "bob@example.com", "erin@example.com"}) {
		t.Fatalf("testdata/schema1.db is not the schema-1 fixture: %+v", l)
	}
	want := schema1Want(t)
	s, logs := openLogged(t, path, boltstore.Options{})
	sameContent(t, s, want)
	if !strings.Contains(logs.String(), "upgraded") || !strings.Contains(logs.String(), "windows=3") {
		t.Errorf("the upgrade logged %q, want a line with the number of windows", logs)
	}
	// A write after the upgrade, to both.
	occs, err := want.Occurrences(t.Context(), "alice@example.com", schema1Window.Start, schema1Window.End)
	if err != nil {
		t.Fatal(err)
	}
	occs[3].Subject = "changed after the upgrade"
	c := store.WindowCommit{Occurrences: occs[1:], Checkpoint: store.Checkpoint{Window: schema1Window, SyncState: "after"}}
	for _, st := range []store.Store{s, want} {
		if err := st.CommitWindow(t.Context(), "alice@example.com", c); err != nil {
			t.Fatal(err)
		}
	}
	sameContent(t, s, want)
	reopenedUnchanged(t, s, path, want)
}

// An upgrade stopped after its first transaction (calsync killed) leaves
// every mailbox in one of the two forms and the file marked schema 4 (so
// an older calsync refuses it instead of reading alice's moved window as
// empty); the next Open continues, one mailbox per transaction here, and
// reads the same. Alice's record lost "longest" with her conversion: the
// last step, which drops it from the rest, must not rewrite every
// converted window (putUpgradedWindow).
func TestSchema1UpgradeContinuesAfterACrash(t *testing.T) {
	path := copySchema1(t)
	l := upgradeOneStep(t, path)
	if l.schema != "4" || l.upgradeFrom != "1" || !reflect.DeepEqual(l.windows, []string{"alice@example.com"}) || !reflect.DeepEqual(l.old, []string{"bob@example.com", "erin@example.com"}) ||
		slices.Contains(l.longest, "alice@example.com") || !slices.Contains(l.longest, "bob@example.com") {
		t.Fatalf("after one step the file holds %+v; want schema 4 upgrading from 1, alice converted (without \"longest\"), bob and erin not", l)
	}
	continuedUpgrade(t, path)
}

// A schema-1 row that cannot be decoded does not stop the upgrade or the
// service: that mailbox's window is dropped and its checkpoint cleared, so
// the engine reads it again from Exchange; a warning names it; the rest
// (status, other mailboxes, outbox) stays.
func TestSchema1UpgradeDropsADamagedWindow(t *testing.T) {
	path := copySchema1(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket([]byte("occurrences"))
		k, v := ob.Cursor().Seek([]byte("erin@example.com\x00"))
		return ob.Put(bytes.Clone(k), bytes.Clone(v[:len(v)/2]))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, logs := openLogged(t, path, boltstore.Options{})
	defer s.Close()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "erin@example.com") || !strings.Contains(logs.String(), "read again from Exchange") {
		t.Errorf("the upgrade logged %q, want a warning naming erin", logs)
	}
	want := schema1Want(t)
	erin, err := want.Mailbox(t.Context(), "erin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	erin.Checkpoint = store.Checkpoint{}
	// memstore's erin becomes what the upgrade left: no window, no checkpoint.
	if err := want.DeleteMailbox(t.Context(), "erin@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := want.SaveStatus(t.Context(), erin.Status); err != nil {
		t.Fatal(err)
	}
	if err := want.SavePresence(context.Background(), "erin@example.com", []byte(`{"availability":"free"}`)); err != nil {
		t.Fatal(err)
	}
	sameContent(t, s, want)
	got, err := s.Mailbox(t.Context(), "erin@example.com")
	if err != nil || got.Checkpoint.Window != (calendar.Window{}) || got.Status.State != "subscribed" {
		t.Errorf("erin after the upgrade: %+v, %v; want the status kept and no checkpoint", got, err)
	}
}

// A file written by schema-2 boltstore (each window in a bucket of its own
// in "windows") opens, reads exactly as the data written into it, and is
// converted: schema 4, each window moved into its mailbox's bucket, no
// "windows" bucket; it stays equal after a write and a second open, which
// upgrades nothing.
func TestSchema2FileIsUpgradedOnOpen(t *testing.T) {
	path := copySchema2(t)
	if l := readLayout(t, path); l.schema != "2" || l.windows != nil || !reflect.DeepEqual(l.windows2, []string{"alice@example.com", "bob@example.com", "dave@example.com", "erin@example.com"}) {
		t.Fatalf("testdata/schema2.db is not the schema-2 fixture: %+v", l)
	}
	want := schema1Want(t)
	s, logs := openLogged(t, path, boltstore.Options{})
	sameContent(t, s, want)
	if !strings.Contains(logs.String(), "upgraded") || !strings.Contains(logs.String(), "from_schema=2") || !strings.Contains(logs.String(), "windows=4") {
		t.Errorf("the upgrade logged %q, want a line with the old schema and the number of windows", logs)
	}
	occs, err := want.Occurrences(t.Context(), "bob@example.com", schema1Window.Start, schema1Window.End)
	if err != nil {
		t.Fatal(err)
	}
	occs[0].Subject = "changed after the upgrade"
	c := store.WindowCommit{Occurrences: occs, Checkpoint: store.Checkpoint{Window: schema1Window, SyncState: "after"}}
	for _, st := range []store.Store{s, want} {
		if err := st.CommitWindow(t.Context(), "bob@example.com", c); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteMailbox(t.Context(), "dave@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	sameContent(t, s, want)
	reopenedUnchanged(t, s, path, want)
}

// An upgrade from schema 2 stopped after its first transaction leaves
// every window in one of the two places and the file marked schema 4:
// calsync of schema 2 (b49ad17: "has schema version 4, this calsync reads
// up to 2") refuses it, where it would have read alice's window as empty
// and kept her checkpoint. The next Open continues, one mailbox per
// transaction here, and reads the same.
func TestSchema2UpgradeContinuesAfterACrash(t *testing.T) {
	path := copySchema2(t)
	l := upgradeOneStep(t, path)
	if l.schema != "4" || l.upgradeFrom != "2" || !reflect.DeepEqual(l.windows, []string{"alice@example.com"}) || !reflect.DeepEqual(l.windows2, []string{"bob@example.com", "dave@example.com", "erin@example.com"}) {
		t.Fatalf("after one step the file holds %+v; want schema 4 upgrading from 2, alice moved, bob, dave and erin not", l)
	}
	continuedUpgrade(t, path, "alice@example.com", "bob@example.com", "dave@example.com", "erin@example.com")
}

// A schema-1 file whose upgrade to schema 2 an older calsync began (alice
// converted into "windows", bob and erin still in rows, the version still
// 1) is upgraded by this one to schema 4 and reads the same. The file is
// made from the two fixtures: alice's rows out of schema1.db, her
// schema-2 window (the same calls wrote it) into it.
func TestHalfUpgradedSchema1FileIsUpgradedOnOpen(t *testing.T) {
	var alice []byte
	db2, err := bolt.Open("testdata/schema2.db", 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db2.View(func(tx *bolt.Tx) error {
		alice = bytes.Clone(tx.Bucket([]byte("windows")).Bucket([]byte("alice@example.com")).Get([]byte("w")))
		return nil
	})
	db2.Close()
	if err != nil || alice == nil {
		t.Fatalf("alice's window in testdata/schema2.db: %v", err)
	}
	path := copySchema1(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket([]byte("occurrences"))
		var keys [][]byte
		c := ob.Cursor()
		for k, _ := c.Seek([]byte("alice@example.com\x00")); bytes.HasPrefix(k, []byte("alice@example.com\x00")); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := ob.Delete(k); err != nil {
				return err
			}
		}
		wb, err := tx.CreateBucket([]byte("windows"))
		if err != nil {
			return err
		}
		b, err := wb.CreateBucket([]byte("alice@example.com"))
		if err != nil {
			return err
		}
		return b.Put([]byte("w"), alice)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if l := readLayout(t, path); l.schema != "1" || !reflect.DeepEqual(l.windows2, []string{"alice@example.com"}) || !reflect.DeepEqual(l.old, []string{"bob@example.com", "erin@example.com"}) {
		t.Fatalf("the half-upgraded file holds %+v", l)
	}
	want := schema1Want(t)
	s, logs := openLogged(t, path, boltstore.Options{})
	sameContent(t, s, want)
	if !strings.Contains(logs.String(), "from_schema=1") || !strings.Contains(logs.String(), "windows=3") {
		t.Errorf("the upgrade logged %q, want from_schema=1 and windows=3 (alice's moved, bob's and erin's converted)", logs)
	}
	reopenedUnchanged(t, s, path, want)
}

// Entries in a schema-2 "windows" bucket that no mailbox owns — a window
// whose record is gone, a plain value where a bucket belongs — do not stop
// the upgrade: they are dropped (nothing read them), and the file reads as
// the fixture's calls.
func TestSchema2UpgradeDropsStrayWindows(t *testing.T) {
	path := copySchema2(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		wb := tx.Bucket([]byte("windows"))
		ghost, err := wb.CreateBucket([]byte("ghost@example.com"))
		if err != nil {
			return err
		}
		if err := ghost.Put([]byte("w"), []byte("W")); err != nil {
			return err
		}
		return wb.Put([]byte("plain@example.com"), []byte("W"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, logs := openLogged(t, path, boltstore.Options{})
	sameContent(t, s, schema1Want(t))
	if !strings.Contains(logs.String(), "windows=4") {
		t.Errorf("the upgrade logged %q, want windows=4 (the stray entries not counted)", logs)
	}
	if _, err := s.Mailbox(t.Context(), "ghost@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Mailbox of the stray window's address: %v, want ErrNotFound", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	upgraded(t, path, "alice@example.com", "bob@example.com", "dave@example.com", "erin@example.com")
}
