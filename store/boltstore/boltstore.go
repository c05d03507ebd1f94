// Package boltstore is calsync's embedded store: a single file written
// with bbolt (pure Go, no cgo), safe against crashes, one writer process.
//
// Layout (schema version 4):
//
//	meta       "schema" -> "4"; "seq" -> last outbox sequence number;
//	           "doc:"<name> -> named document (DocumentStore);
//	           "upgrade_from" -> old version, while an upgrade is unfinished (upgrade.go)
//	mailboxes  <smtp> -> bucket (inline while it holds no window)
//	             "record"  -> JSON recordDoc (status, checkpoint, OOF, status number)
//	             "w"       -> the mailbox's window, all occurrences in one value (window.go)
//	statuses   <smtp> -> JSON statusEntry: the last status written alone and
//	           its number; the mailbox's when it outnumbers the record's (statuses.go)
//	leases     <smtp> -> JSON lease
//	presence   <smtp> -> presence document
//	outbox     <seq: 8 bytes> -> JSON live message
//	queue      <endpoint>\x00<key>\x00<seq> -> empty   (per-key delivery order)
//	dead       <seq> -> JSON dead message
//	ids        <message id> -> <seq>, 'L'ive or 'D'ead
//	counts     <endpoint> -> pending and dead counters
//
// Every method runs in one bolt transaction, so CommitWindow replaces the
// occurrences and saves the checkpoint atomically, and Enqueue stores a
// batch all-or-nothing. Open upgrades a file of schema version 1 (one key
// per occurrence), 2 (windows in a bucket of their own) or 3 (no
// "statuses"), upgrade.go. See docs/store.md for the reasoning and
// figures.
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/calsync/calsync/store"
)

// SchemaVersion is the layout version this package writes and reads; Open
// upgrades files of older versions.
const SchemaVersion = 4

// Sentinel errors of Open; test with errors.Is.
var (
	// ErrLocked: another process (or another Store in this process) holds the file.
	ErrLocked = errors.New("boltstore: store file is locked by another process")
	// ErrCorrupt: the file is not a readable calsync store.
	ErrCorrupt = errors.New("boltstore: store file is corrupt or not a calsync store")
	// ErrOlderSchema: a read-only Open found a file that calsync run
	// would upgrade first.
	ErrOlderSchema = errors.New("boltstore: store file has an older schema")
)

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the
	// file lock before it fails with ErrLocked. Default 2s.
	LockTimeout time.Duration
	// NoSync skips fsync after each transaction. Only for tests and
	// benchmarks: a crash can then lose or corrupt data.
	NoSync bool
	// Encoding of occurrences; default EncodingBinary.
	Encoding Encoding
	// BatchDelay > 0 lets concurrent writes of different mailboxes share one
	// transaction and one fsync (bolt's Batch), waiting at most this long for
	// company. 0 (the default) never waits: writes that arrive while
	// another commits share the next transaction (groupcommit.go).
	BatchDelay time.Duration
	// Logger receives open/close messages; nil discards them.
	Logger *slog.Logger
	// ReadOnly opens the file for reading only, under a shared lock (so
	// not while calsync run holds it): no upgrade, no free list saved at
	// Close, every write fails. For calsync check, which must not change
	// a store that a rollback to the older calsync would then refuse. A
	// file of an older schema is refused with ErrOlderSchema.
	ReadOnly bool
}

// Store is the bolt-backed store.Store. Create it with Open.
type Store struct {
	db     *bolt.DB
	path   string
	opts   Options
	log    *slog.Logger
	mu     sync.RWMutex // write-locked only by Close
	closed bool
	group  groupCommit
}

var _ store.Store = (*Store)(nil)

var (
	bucketMeta      = []byte("meta")
	bucketMailboxes = []byte("mailboxes")
	bucketLeases    = []byte("leases")
	bucketPresence  = []byte("presence")
	bucketOutbox    = []byte("outbox")
	bucketQueue     = []byte("queue")
	bucketDead      = []byte("dead")
	bucketIDs       = []byte("ids")
	bucketCounts    = []byte("counts")
	bucketStatuses  = []byte("statuses") // schema 4
	allBuckets      = append(slices.Clone(buckets3), bucketStatuses)
	// buckets3 are the buckets of a schema-3 file (upgrade.go).
	buckets3 = [][]byte{bucketMeta, bucketMailboxes, bucketLeases, bucketPresence, bucketOutbox, bucketQueue, bucketDead, bucketIDs, bucketCounts}

	keySchema = []byte("schema")
	keySeq    = []byte("seq")
	keyRecord = []byte("record")
)

// Open opens or creates the store file at path.
//
// It fails with ErrLocked when another process holds the file, and with
// ErrCorrupt when the file is damaged, belongs to another program, or was
// written by a newer calsync; the message says which file and what to do.
func Open(path string, opts Options) (s *Store, err error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if opts.Encoding == "" {
		opts.Encoding = EncodingBinary
	}
	if opts.Encoding != EncodingBinary && opts.Encoding != EncodingJSON {
		return nil, fmt.Errorf("boltstore: unknown encoding %q (want %q or %q)", opts.Encoding, EncodingBinary, EncodingJSON)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkFile(path, log); err != nil {
		return nil, err
	}
	defer func() {
		// bbolt trusts the pages it maps; a damaged file must become an
		// error, not a crash of the service.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w: %s: %v; move the file aside and restart calsync to rebuild it from Exchange", ErrCorrupt, path, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync, NoFreelistSync: true, ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, explainOpenError(path, opts.LockTimeout, err)
	}
	if opts.BatchDelay > 0 {
		db.MaxBatchDelay = opts.BatchDelay
	}
	s = &Store{db: db, path: path, opts: opts, log: log, group: groupCommit{db: db}}
	// A file without a saved free list (written by an older calsync, or
	// after a crash) was read in full by bolt.Open to rebuild it: give
	// those pages back before the upgrade or the load reads what it needs.
	// (freelist.go)
	_ = s.ReleaseMemory()
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	log.Debug("boltstore: opened", "path", path, "encoding", opts.Encoding)
	return s, nil
}

func explainOpenError(path string, wait time.Duration, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("%w: %s still locked after %s; is another calsync running with the same store path? Stop it or give this instance its own file", ErrLocked, path, wait)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("%w: %s: %w; move the file aside and restart calsync, which rebuilds the store from Exchange (pending webhooks in it are lost)", ErrCorrupt, path, err)
	}
	// The os error repeats the path ("open PATH: …"); keep only its cause.
	cause := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause = pe.Err
	}
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("boltstore: open %s: %w; the calsync service user needs read and write access to the file and its directory", path, cause)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("boltstore: open %s: %w; create its directory (e.g. install -d -o calsync %s) or set store.path", path, cause, filepath.Dir(path))
	}
	return fmt.Errorf("boltstore: open %s: %w", path, cause)
}

// init creates the buckets of a new file, checks the schema of an
// existing one and upgrades an older one.
func (s *Store) init() error {
	if s.opts.ReadOnly {
		return s.checkReadOnly()
	}
	version := SchemaVersion
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			foreign := false
			_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error { foreign = true; return nil })
			if foreign {
				return fmt.Errorf("%w: %s is a bolt file without calsync metadata; point the store path to a new file", ErrCorrupt, s.path)
			}
			for _, b := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return fmt.Errorf("boltstore: create bucket %s in %s: %w", b, s.path, err)
				}
			}
			return tx.Bucket(bucketMeta).Put(keySchema, fmt.Appendf(nil, "%d", SchemaVersion))
		}
		var err error
		version, err = s.schemaOf(tx, meta)
		return err
	})
	if err != nil || version == SchemaVersion {
		return err
	}
	return s.upgrade(version)
}

// schemaOf reads the schema of an existing file — the one an unfinished
// upgrade (upgrade.go) started from — and checks that this calsync reads
// it and that its buckets are there.
func (s *Store) schemaOf(tx *bolt.Tx, meta *bolt.Bucket) (int, error) {
	var version int
	if _, err := fmt.Sscanf(string(meta.Get(keySchema)), "%d", &version); err != nil || version < 1 {
		return 0, fmt.Errorf("%w: %s has an unreadable schema version %q", ErrCorrupt, s.path, meta.Get(keySchema))
	}
	if from := meta.Get(keyUpgradeFrom); from != nil && version <= SchemaVersion {
		// An upgrade that began: continue it. It may be one an older
		// calsync began (session 9's marks "schema" 3, from 1 or 2): its
		// file holds what that upgrade left, which is what this one's
		// steps read (upgrade.go).
		marked := version
		if _, err := fmt.Sscanf(string(from), "%d", &version); err != nil || version < 1 || version >= marked {
			return 0, fmt.Errorf("%w: %s has an unreadable %q %q; move the file aside and restart calsync to rebuild it", ErrCorrupt, s.path, keyUpgradeFrom, from)
		}
	}
	if version > SchemaVersion {
		return 0, fmt.Errorf("%w: %s has schema version %d, this calsync reads up to %d; run the newer calsync or move the file aside", ErrCorrupt, s.path, version, SchemaVersion)
	}
	for _, b := range bucketsOf(version) {
		if tx.Bucket(b) == nil {
			return 0, fmt.Errorf("%w: %s lacks bucket %q; move the file aside and restart calsync to rebuild it", ErrCorrupt, s.path, b)
		}
	}
	return version, nil
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// begin checks ctx and the closed flag and holds the read lock that keeps
// Close waiting until the operation ends. Call the returned func when done.
func (s *Store) begin(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, fmt.Errorf("boltstore: %w", store.ErrClosed)
	}
	return s.mu.RUnlock, nil
}

// view runs a read-only transaction.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if st, ok := s.joined(ctx); ok {
		return st.view(ctx, fn)
	}
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	return s.db.View(fn)
}

// update runs a write transaction, shared with the writes that arrive
// while another commits (groupcommit.go), or batched with bolt's Batch when
// Options.BatchDelay is set; with the context of an InTx it joins that
// transaction (intx.go). fn must be idempotent: a group or batch may run
// it again.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if st, ok := s.joined(ctx); ok {
		return st.write(ctx, fn)
	}
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	if s.opts.BatchDelay > 0 {
		return s.db.Batch(fn)
	}
	return s.group.update(fn)
}

// Close closes the file; later calls return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("boltstore: %w", store.ErrClosed)
	}
	s.closed = true
	if !s.opts.ReadOnly { // a read-only open wrote nothing and may write nothing
		if err := s.persistFreelist(); err != nil {
			s.log.Warn("boltstore: could not save the list of free pages; the next start reads the whole file to rebuild it", "path", s.path, "err", err)
		}
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	s.log.Debug("boltstore: closed", "path", s.path)
	return nil
}

// corrupt reports a value that cannot be decoded: what, where, what to do.
func (s *Store) corrupt(what string, key []byte, err error) error {
	return fmt.Errorf("%w: %s: cannot decode %s %q: %w; move the file aside and restart calsync to rebuild it from Exchange", ErrCorrupt, s.path, what, key, err)
}
