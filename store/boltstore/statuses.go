package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/store"
)

// Statuses written alone (schema 4). A mailbox's record lives next to its
// window in the mailbox's bucket (schema 3, mailbox.go): a window commit
// writes one path of the tree, record and window together. A status
// written into that record rewrote the mailbox's leaf with its window —
// 16.5 KB per mailbox for the stop's "stopped" at 30 occurrences, 37 KB
// for a state change on its own (docs/BENCHMARKS.md, session 10).
//
// So a status written alone (SaveStatus, SaveStatuses) of a mailbox that
// has a bucket goes into "statuses" instead, about a dozen to a shared leaf,
// and a window commit that carries a status writes it into the record, as
// in schema 3. Neither write touches the other's bucket; which status is
// the mailbox's is decided by a number. An entry is written with its
// predecessor's number + 1 (1 for the first); a commit that finds an
// entry gives the record the entry's number. The entry is the mailbox's
// status while its number is higher than the record's: until the next
// commit with a status, which makes them equal. An entry outnumbers or
// equals the record's number from its first write on, so a status written
// alone reads only "statuses" and the mailbox's bucket header, not the
// record on the window's page: the stop does not map every window. An
// entry that lost stays (one per mailbox at most, ~280 bytes) until the
// next status written alone replaces it or the mailbox is deleted.
// Deleting it in the commit instead would write a second path of the
// tree, as schema 2 did: at a reload after a stop, 37 → 49 KB per commit.
// A mailbox without a bucket gets its status in a new record, which
// creates the bucket anyway.

// statusBatch is how many statuses one SaveStatuses transaction stores: a
// transaction keeps every page it changes in memory until it commits;
// 1,000 keep that small and a stop of 50,000 at 50 transactions instead
// of one write each.
const statusBatch = 1000

// statusEntry is the JSON stored under a mailbox's address in "statuses".
type statusEntry struct {
	Seq    uint64              `json:"seq"`
	Status store.MailboxStatus `json:"status"`
}

// SaveStatus stores the sync status of a mailbox.
func (s *Store) SaveStatus(ctx context.Context, st store.MailboxStatus) error {
	if st.SMTP == "" {
		return fmt.Errorf("boltstore: status without mailbox address")
	}
	st = store.NormalizeStatus(st)
	return s.update(ctx, func(tx *bolt.Tx) error { return s.putStatus(tx, st) })
}

// SaveStatuses stores the statuses of many mailboxes, statusBatch to a
// transaction (store.Store).
func (s *Store) SaveStatuses(ctx context.Context, sts []store.MailboxStatus) error {
	for _, st := range sts {
		if st.SMTP == "" {
			return fmt.Errorf("boltstore: status without mailbox address")
		}
	}
	for len(sts) > 0 {
		batch := sts[:min(len(sts), statusBatch)]
		sts = sts[len(batch):]
		err := s.update(ctx, func(tx *bolt.Tx) error {
			for _, st := range batch {
				if err := s.putStatus(tx, store.NormalizeStatus(st)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// putStatus writes a status on its own: into "statuses", numbered past
// the mailbox's entry there, for a mailbox that has a bucket; into the
// record of a new one otherwise.
func (s *Store) putStatus(tx *bolt.Tx, st store.MailboxStatus) error {
	key := []byte(st.SMTP)
	if tx.Bucket(bucketMailboxes).Bucket(key) == nil {
		return s.mutateRecord(tx, st.SMTP, func(_ *bolt.Bucket, doc *recordDoc) error {
			doc.Status = st
			return nil
		})
	}
	statuses := tx.Bucket(bucketStatuses)
	var prev statusEntry
	if v := statuses.Get(key); v != nil {
		if err := json.Unmarshal(v, &prev); err != nil {
			return s.corrupt("mailbox status", key, err)
		}
	}
	b, err := json.Marshal(statusEntry{Seq: prev.Seq + 1, Status: st})
	if err != nil {
		return fmt.Errorf("boltstore: encode the status of %s: %w", st.SMTP, err)
	}
	if err := statuses.Put(key, b); err != nil {
		return fmt.Errorf("boltstore: write the status of %s: %w", st.SMTP, err)
	}
	return nil
}

// overtakeStatus gives the record's status, about to be replaced by a
// window commit's, the number of the mailbox's entry in "statuses" (read
// only), which makes the record's the mailbox's status.
func (s *Store) overtakeStatus(tx *bolt.Tx, smtp string, doc *recordDoc) error {
	v := tx.Bucket(bucketStatuses).Get([]byte(smtp))
	if v == nil {
		return nil
	}
	var e statusEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return s.corrupt("mailbox status", []byte(smtp), err)
	}
	doc.StatusSeq = e.Seq
	return nil
}

// newerStatus replaces doc's status with the mailbox's entry in
// "statuses" (v, read by the caller; nil: none) when that is the later.
func (s *Store) newerStatus(smtp, v []byte, doc *recordDoc) error {
	if v == nil {
		return nil
	}
	var e statusEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return s.corrupt("mailbox status", smtp, err)
	}
	if e.Seq > doc.StatusSeq {
		doc.Status = e.Status
	}
	return nil
}

// statusCursor walks "statuses" alongside a walk of "mailboxes" in key
// order, so listing every mailbox merges the two with one pass over each.
type statusCursor struct {
	c    *bolt.Cursor
	k, v []byte
}

func newStatusCursor(tx *bolt.Tx) *statusCursor {
	sc := &statusCursor{c: tx.Bucket(bucketStatuses).Cursor()}
	sc.k, sc.v = sc.c.First()
	return sc
}

// at returns the entry of mailbox smtp, or nil; calls come in key order.
func (sc *statusCursor) at(smtp []byte) []byte {
	for sc.k != nil && bytes.Compare(sc.k, smtp) < 0 {
		sc.k, sc.v = sc.c.Next()
	}
	if bytes.Equal(sc.k, smtp) {
		return sc.v
	}
	return nil
}
