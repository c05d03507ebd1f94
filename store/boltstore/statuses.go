package boltstore

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/calsync/calsync/store"
)

// statusBatch is how many statuses one SaveStatuses transaction stores: a
// transaction keeps every page it changes in memory until it commits, and
// each mailbox's record is on pages of its own, so 50,000 in one would
// hold most of the file; 1,000 keep that small and a stop of 50,000 at
// 50 transactions instead of one write each.
const statusBatch = 1000

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
				st = store.NormalizeStatus(st)
				err := s.mutateRecord(tx, st.SMTP, func(_ *bolt.Bucket, doc *recordDoc) error {
					doc.Status = st
					return nil
				})
				if err != nil {
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
