package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// recordDoc is the JSON stored under "record" in a mailbox bucket. Its
// status is the mailbox's unless "statuses" holds a newer one (statuses.go).
type recordDoc struct {
	Status     store.MailboxStatus   `json:"status"`
	Checkpoint store.Checkpoint      `json:"checkpoint"`
	OOF        *calendar.OOFSettings `json:"oof,omitempty"`
	// StatusSeq orders Status against the mailbox's entry in "statuses"
	// (statuses.go): the entry wins while its number is higher. Absent in
	// schema-3 records (0).
	StatusSeq uint64 `json:"status_seq,omitempty"`
}

type leaseDoc struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// loadRecord reads a mailbox's record; ok is false when the mailbox is unknown.
func (s *Store) loadRecord(tx *bolt.Tx, smtp string) (*bolt.Bucket, recordDoc, bool, error) {
	var doc recordDoc
	mb := tx.Bucket(bucketMailboxes).Bucket([]byte(smtp))
	if mb == nil {
		return nil, doc, false, nil
	}
	if err := json.Unmarshal(mb.Get(keyRecord), &doc); err != nil {
		return nil, doc, false, s.corrupt("mailbox record", []byte(smtp), err)
	}
	return mb, doc, true, nil
}

// mutateRecord loads or creates a mailbox's record, lets fn change it and
// writes it back; fn may also write into the mailbox bucket.
func (s *Store) mutateRecord(tx *bolt.Tx, smtp string, fn func(mb *bolt.Bucket, doc *recordDoc) error) error {
	mb, doc, ok, err := s.loadRecord(tx, smtp)
	if err != nil {
		return err
	}
	if !ok {
		mb, err = tx.Bucket(bucketMailboxes).CreateBucket([]byte(smtp))
		if err != nil {
			return fmt.Errorf("boltstore: create mailbox %s: %w", smtp, err)
		}
		doc.Status.SMTP = smtp
	}
	if err := fn(mb, &doc); err != nil {
		return err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("boltstore: encode record of %s: %w", smtp, err)
	}
	return mb.Put(keyRecord, b)
}

// CommitWindow replaces a mailbox's occurrences and checkpoint (and its
// status and automatic replies, when the commit carries them) in one
// transaction.
func (s *Store) CommitWindow(ctx context.Context, smtp string, c store.WindowCommit) error {
	scratch := getCommitScratch()
	if _, ok := s.joined(ctx); !ok {
		// In an InTx the transaction outlives this call and bolt holds
		// the value until it commits: the scratch is not reused then.
		defer putCommitScratch(scratch)
	}
	occs, err := store.PrepareCommitTo(scratch.occs, smtp, c)
	scratch.occs = occs
	if err != nil {
		return err
	}
	// Encoded before the transaction: a group commit may run the
	// function again, and the value is all it writes besides the record.
	val, err := appendWindow(slices.Grow(scratch.val[:0], windowSize(occs)), s.opts.Encoding, occs)
	scratch.val = val
	if err != nil {
		return fmt.Errorf("boltstore: encode the window of %s: %w", smtp, err)
	}
	cp := normalizeCheckpoint(c.Checkpoint)
	var status *store.MailboxStatus
	if c.Status != nil {
		st := store.NormalizeStatus(*c.Status)
		status = &st
	}
	var oof *calendar.OOFSettings
	if c.OOF != nil {
		o := normalizeOOF(*c.OOF)
		oof = &o
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		return s.mutateRecord(tx, smtp, func(mb *bolt.Bucket, doc *recordDoc) error {
			if err := mb.Put(keyWindow, val); err != nil {
				return fmt.Errorf("boltstore: write the window of %s: %w", smtp, err)
			}
			doc.Checkpoint = cp
			if status != nil {
				if err := s.overtakeStatus(tx, smtp, doc); err != nil {
					return err
				}
				doc.Status = *status
			}
			if oof != nil {
				doc.OOF = oof
			}
			return nil
		})
	})
}

// SaveCheckpoint updates only the checkpoint.
func (s *Store) SaveCheckpoint(ctx context.Context, smtp string, cp store.Checkpoint) error {
	if smtp == "" {
		return fmt.Errorf("boltstore: checkpoint without mailbox address")
	}
	cp = normalizeCheckpoint(cp)
	return s.update(ctx, func(tx *bolt.Tx) error {
		return s.mutateRecord(tx, smtp, func(_ *bolt.Bucket, doc *recordDoc) error {
			doc.Checkpoint = cp
			return nil
		})
	})
}

// SaveOOF stores the automatic-replies settings of a mailbox.
func (s *Store) SaveOOF(ctx context.Context, smtp string, oof calendar.OOFSettings) error {
	if smtp == "" {
		return fmt.Errorf("boltstore: automatic replies without mailbox address")
	}
	oof = normalizeOOF(oof)
	return s.update(ctx, func(tx *bolt.Tx) error {
		return s.mutateRecord(tx, smtp, func(_ *bolt.Bucket, doc *recordDoc) error {
			o := oof
			doc.OOF = &o
			return nil
		})
	})
}

// normalizeOOF stores the settings' instants in UTC.
func normalizeOOF(oof calendar.OOFSettings) calendar.OOFSettings {
	oof.Start, oof.End = utc(oof.Start), utc(oof.End)
	return oof
}

// Mailbox returns the record of one mailbox, or ErrNotFound.
func (s *Store) Mailbox(ctx context.Context, smtp string) (store.MailboxRecord, error) {
	var rec store.MailboxRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		_, doc, ok, err := s.loadRecord(tx, smtp)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("boltstore: mailbox %s: %w", smtp, store.ErrNotFound)
		}
		if err := s.newerStatus([]byte(smtp), tx.Bucket(bucketStatuses).Get([]byte(smtp)), &doc); err != nil {
			return err
		}
		rec = doc.record()
		return nil
	})
	return rec, err
}

// Mailboxes lists all records sorted by SMTP address (bolt keeps keys in byte order).
func (s *Store) Mailboxes(ctx context.Context) ([]store.MailboxRecord, error) {
	var out []store.MailboxRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = []store.MailboxRecord{}
		statuses := newStatusCursor(tx)
		return tx.Bucket(bucketMailboxes).ForEachBucket(func(k []byte) error {
			_, doc, _, err := s.loadRecord(tx, string(k))
			if err != nil {
				return err
			}
			if err := s.newerStatus(k, statuses.at(k), &doc); err != nil {
				return err
			}
			out = append(out, doc.record())
			return nil
		})
	})
	return out, err
}

// Occurrences returns the stored occurrences overlapping [start, end),
// decoding only those of the window value (window.go).
func (s *Store) Occurrences(ctx context.Context, smtp string, start, end time.Time) ([]calendar.Occurrence, error) {
	var out []calendar.Occurrence
	err := s.view(ctx, func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMailboxes).Bucket([]byte(smtp))
		if mb == nil {
			return fmt.Errorf("boltstore: occurrences of %s: %w", smtp, store.ErrNotFound)
		}
		if !end.After(start) {
			return nil
		}
		v := mb.Get(keyWindow)
		if v == nil {
			return nil // a record without a window (only a status or checkpoint saved)
		}
		var err error
		if out, err = decodeWindow(v, start, end); err != nil {
			return s.corrupt("window", []byte(smtp), err)
		}
		return nil
	})
	return out, err
}

// DeleteMailbox removes the record, window, lease and presence of a mailbox.
func (s *Store) DeleteMailbox(ctx context.Context, smtp string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		key := []byte(smtp)
		if tx.Bucket(bucketMailboxes).Bucket(key) == nil {
			return fmt.Errorf("boltstore: delete mailbox %s: %w", smtp, store.ErrNotFound)
		}
		if err := tx.Bucket(bucketMailboxes).DeleteBucket(key); err != nil { // the window with it
			return fmt.Errorf("boltstore: delete mailbox %s: %w", smtp, err)
		}
		if err := tx.Bucket(bucketStatuses).Delete(key); err != nil {
			return err
		}
		if err := tx.Bucket(bucketLeases).Delete(key); err != nil {
			return err
		}
		return tx.Bucket(bucketPresence).Delete(key)
	})
}

// AcquireLease claims or renews a mailbox lease for owner.
func (s *Store) AcquireLease(ctx context.Context, smtp, owner string, now time.Time, ttl time.Duration) error {
	if owner == "" || ttl <= 0 {
		return fmt.Errorf("boltstore: lease on %s needs an owner and a positive duration", smtp)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		if raw := b.Get([]byte(smtp)); raw != nil {
			var l leaseDoc
			if err := json.Unmarshal(raw, &l); err != nil {
				return s.corrupt("lease", []byte(smtp), err)
			}
			if l.Owner != owner && now.Before(l.Expires) {
				return fmt.Errorf("boltstore: lease on %s held by %s until %s: %w", smtp, l.Owner, l.Expires.Format(time.RFC3339), store.ErrConflict)
			}
		}
		raw, err := json.Marshal(leaseDoc{Owner: owner, Expires: now.Add(ttl).UTC()})
		if err != nil {
			return err
		}
		return b.Put([]byte(smtp), raw)
	})
}

// ReleaseLease gives up owner's lease on a mailbox.
func (s *Store) ReleaseLease(ctx context.Context, smtp, owner string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		raw := b.Get([]byte(smtp))
		if raw == nil {
			return nil
		}
		var l leaseDoc
		if err := json.Unmarshal(raw, &l); err != nil {
			return s.corrupt("lease", []byte(smtp), err)
		}
		if l.Owner != owner {
			return fmt.Errorf("boltstore: release lease on %s: held by %s, not %s: %w", smtp, l.Owner, owner, store.ErrConflict)
		}
		return b.Delete([]byte(smtp))
	})
}

// SavePresence stores the last published presence document of a user.
func (s *Store) SavePresence(ctx context.Context, smtp string, doc []byte) error {
	if smtp == "" {
		return fmt.Errorf("boltstore: presence without user address")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPresence).Put([]byte(smtp), append([]byte{}, doc...))
	})
}

// SavePresences stores the presence documents of several users in one
// transaction (one fsync): all of them, or none on error.
func (s *Store) SavePresences(ctx context.Context, docs map[string][]byte) error {
	for smtp := range docs {
		if smtp == "" {
			return fmt.Errorf("boltstore: presence without user address")
		}
	}
	if len(docs) == 0 {
		// Nothing to write; still report a done context or a closed store.
		done, err := s.begin(ctx)
		if err != nil {
			return err
		}
		done()
		return nil
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPresence)
		for smtp, doc := range docs {
			if err := b.Put([]byte(smtp), append([]byte{}, doc...)); err != nil {
				return fmt.Errorf("boltstore: save presence of %s: %w", smtp, err)
			}
		}
		return nil
	})
}

// LoadPresence returns all stored presence documents by SMTP address.
func (s *Store) LoadPresence(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPresence).ForEach(func(k, v []byte) error {
			out[string(k)] = append([]byte(nil), v...)
			return nil
		})
	})
	return out, err
}

func (d recordDoc) record() store.MailboxRecord {
	return store.MailboxRecord{Status: d.Status, Checkpoint: d.Checkpoint, OOF: d.OOF}
}

func normalizeCheckpoint(cp store.Checkpoint) store.Checkpoint {
	cp.Window.Start, cp.Window.End, cp.LoadedAt = utc(cp.Window.Start), utc(cp.Window.End), utc(cp.LoadedAt)
	return cp
}

func utc(t time.Time) time.Time { return t.UTC() }

// keyWindow holds the window value in a mailbox's bucket, next to its
// record (schema 3). A first commit of a mailbox, and every later one,
// then changes one bucket: the mailbox's own leaf (record and window) and
// one leaf of bucket headers in "mailboxes". Schema 2 kept the window in
// a bucket of its own in "windows", and every commit changed a second
// path of leaf and branch pages there: 27 % more bytes per first commit
// (docs/BENCHMARKS.md, session 9). A window larger than a quarter page
// gives the mailbox's bucket a leaf of its own, so a commit copies that
// mailbox alone; a mailbox without a window (a status only) stays inline.
var keyWindow = []byte("w")
