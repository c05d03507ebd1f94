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
// the mailbox's is decided by a number: the entry in "statuses" carries
// the record's StatusSeq + 1 when it is written, and a commit that finds
// such an entry gives the record the entry's number + 1. The higher is
// the later; an entry that lost stays (one per mailbox at most, ~280
// bytes) until the next status written alone replaces it or the mailbox
// is deleted. Deleting it in the commit would write a second path of the
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
// the record's, for a mailbox that has a bucket; into the record of a new
// one otherwise.
func (s *Store) putStatus(tx *bolt.Tx, st store.MailboxStatus) error {
	_, doc, ok, err := s.loadRecord(tx, st.SMTP)
	if err != nil {
		return err
	}
	if !ok {
		return s.mutateRecord(tx, st.SMTP, func(_ *bolt.Bucket, doc *recordDoc) error {
			doc.Status = st
			return nil
		})
	}
	b, err := json.Marshal(statusEntry{Seq: doc.StatusSeq + 1, Status: st})
	if err != nil {
		return fmt.Errorf("boltstore: encode the status of %s: %w", st.SMTP, err)
	}
	if err := tx.Bucket(bucketStatuses).Put([]byte(st.SMTP), b); err != nil {
		return fmt.Errorf("boltstore: write the status of %s: %w", st.SMTP, err)
	}
	return nil
}

// overtakeStatus numbers the record's status, about to be replaced by a
// window commit's, past the mailbox's entry in "statuses" (read only).
func (s *Store) overtakeStatus(tx *bolt.Tx, smtp string, doc *recordDoc) error {
	v := tx.Bucket(bucketStatuses).Get([]byte(smtp))
	if v == nil {
		return nil
	}
	var e statusEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return s.corrupt("mailbox status", []byte(smtp), err)
	}
	doc.StatusSeq = max(doc.StatusSeq, e.Seq) + 1
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
