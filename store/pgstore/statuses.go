package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/store"
)

// Statuses returns the stored sync status of every mailbox, sorted by
// address: what an instance answers for the mailboxes other instances own
// (one narrow query; Mailboxes also reads checkpoints and replies).
func (s *Store) Statuses(ctx context.Context) ([]store.MailboxStatus, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT smtp, status FROM mailboxes ORDER BY smtp COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read statuses: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MailboxStatus, error) {
		var smtp string
		var raw []byte
		var row statusRow
		if err := r.Scan(&smtp, &raw); err != nil {
			return store.MailboxStatus{}, err
		}
		if err := unmarshal("status of "+smtp, raw, &row); err != nil {
			return store.MailboxStatus{}, err
		}
		return row.decode(smtp), nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: read statuses: %w", err)
	}
	return out, nil
}

// statusBatch is how many statuses one SaveStatuses statement stores.
const statusBatch = 1000

// SaveStatuses stores the statuses of many mailboxes, one statement (one
// transaction) per statusBatch of them (store.Store).
func (s *Store) SaveStatuses(ctx context.Context, sts []store.MailboxStatus) error {
	return s.saveStatuses(ctx, sts, nil)
}

// SaveStatuses stores the statuses of the mailboxes whose lease still has
// this instance's epoch, and refuses the others (store.Store).
func (f *fenced) SaveStatuses(ctx context.Context, sts []store.MailboxStatus) error {
	return f.saveStatuses(ctx, sts, f.fence)
}

// saveStatuses writes sts in batches; with a fence, each batch in a
// transaction that first reads the batch's leases FOR SHARE (as
// fence.check does for one write) and stores only the statuses of
// mailboxes still held under this instance's epoch.
func (s *Store) saveStatuses(ctx context.Context, sts []store.MailboxStatus, f *fence) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, st := range sts {
		if st.SMTP == "" {
			return fmt.Errorf("pgstore: status without mailbox address")
		}
	}
	sts = lastOfEach(sts)
	var refused []string
	for len(sts) > 0 {
		batch := sts[:min(len(sts), statusBatch)]
		sts = sts[len(batch):]
		smtps := make([]string, len(batch))
		docs := make([]string, len(batch))
		for i, st := range batch {
			doc, err := marshal("status", encodeStatus(st))
			if err != nil {
				return err
			}
			smtps[i], docs[i] = st.SMTP, string(doc)
		}
		var err error
		if f == nil {
			_, err = s.exec(ctx, upsertStatuses, smtps, docs)
		} else {
			err = s.inTx(ctx, func(tx pgx.Tx) error {
				held, err := f.held(ctx, tx, smtps)
				if err != nil {
					return err
				}
				var keepS, keepD []string
				for i, smtp := range smtps {
					if held[smtp] {
						keepS, keepD = append(keepS, smtp), append(keepD, docs[i])
					} else {
						refused = append(refused, smtp)
					}
				}
				_, err = tx.Exec(ctx, upsertStatuses, keepS, keepD)
				return err
			})
		}
		if err != nil {
			return fmt.Errorf("pgstore: save the statuses of %d mailboxes (%s …): %w", len(batch), smtps[0], err)
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("pgstore: statuses of %d mailboxes not saved (%s …): this instance no longer holds their leases: %w", len(refused), refused[0], store.ErrConflict)
	}
	return nil
}

const upsertStatuses = `INSERT INTO mailboxes (smtp, status)
	SELECT u.smtp, u.doc::jsonb FROM unnest($1::text[], $2::text[]) AS u(smtp, doc)
	ON CONFLICT (smtp) DO UPDATE SET status = excluded.status`

// lastOfEach keeps the last status of each mailbox, in their order: one
// INSERT … ON CONFLICT cannot update a row twice.
func lastOfEach(sts []store.MailboxStatus) []store.MailboxStatus {
	at := make(map[string]int, len(sts))
	out := make([]store.MailboxStatus, 0, len(sts))
	for _, st := range sts {
		if i, ok := at[st.SMTP]; ok {
			out[i] = st
			continue
		}
		at[st.SMTP] = len(out)
		out = append(out, st)
	}
	return out
}
