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
