package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// execer is what pgx.Tx and the pool share for statements without rows.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// upsertColumn writes one jsonb column of a mailbox, creating the row of
// an unknown mailbox.
func upsertColumn(ctx context.Context, q execer, column, smtp string, doc []byte) error {
	_, err := q.Exec(ctx, `INSERT INTO mailboxes (smtp, `+column+`) VALUES ($1, $2)
		ON CONFLICT (smtp) DO UPDATE SET `+column+` = excluded.`+column, smtp, doc)
	return err
}

// upsertRecord writes a window commit's checkpoint, and its status and
// automatic replies when it carries them (nil: the stored one stays), in
// one statement.
func upsertRecord(ctx context.Context, q execer, smtp string, cp, status, oof []byte) error {
	switch {
	case status == nil && oof == nil:
		return upsertColumn(ctx, q, "checkpoint", smtp, cp)
	case oof == nil:
		_, err := q.Exec(ctx, `INSERT INTO mailboxes (smtp, checkpoint, status) VALUES ($1, $2, $3)
		ON CONFLICT (smtp) DO UPDATE SET checkpoint = excluded.checkpoint, status = excluded.status`, smtp, cp, status)
		return err
	case status == nil:
		_, err := q.Exec(ctx, `INSERT INTO mailboxes (smtp, checkpoint, oof) VALUES ($1, $2, $3)
		ON CONFLICT (smtp) DO UPDATE SET checkpoint = excluded.checkpoint, oof = excluded.oof`, smtp, cp, oof)
		return err
	}
	_, err := q.Exec(ctx, `INSERT INTO mailboxes (smtp, checkpoint, status, oof) VALUES ($1, $2, $3, $4)
		ON CONFLICT (smtp) DO UPDATE SET checkpoint = excluded.checkpoint, status = excluded.status, oof = excluded.oof`, smtp, cp, status, oof)
	return err
}

// CommitWindow atomically replaces a mailbox's occurrences and checkpoint,
// and its status and automatic replies when the commit carries them.
func (s *Store) CommitWindow(ctx context.Context, smtp string, c store.WindowCommit) error {
	return s.commitWindow(ctx, smtp, c, nil)
}

func (s *Store) commitWindow(ctx context.Context, smtp string, c store.WindowCommit, f *fence) error {
	occs, err := store.PrepareCommit(smtp, c)
	if err != nil {
		return err
	}
	cp, err := marshal("checkpoint", encodeCheckpoint(c.Checkpoint))
	if err != nil {
		return err
	}
	var status, oof []byte
	if c.Status != nil {
		if status, err = marshal("status", encodeStatus(*c.Status)); err != nil {
			return err
		}
	}
	if c.OOF != nil {
		if oof, err = marshal(columnNames["oof"], encodeOOF(*c.OOF)); err != nil {
			return err
		}
	}
	rows := make([][]any, len(occs))
	for i, o := range occs {
		doc, err := marshal("occurrence "+o.ItemID, encodeOccurrence(o))
		if err != nil {
			return err
		}
		rows[i] = []any{smtp, o.ItemID, o.Start, o.End, doc}
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := f.check(ctx, tx, smtp); err != nil {
			return err
		}
		if err := upsertRecord(ctx, tx, smtp, cp, status, oof); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM occurrences WHERE smtp = $1`, smtp); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"occurrences"},
			[]string{"smtp", "item_id", "start_at", "end_at", "doc"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: commit window of %s: %w", smtp, err)
	}
	return nil
}

// SaveCheckpoint updates only the checkpoint of a mailbox.
func (s *Store) SaveCheckpoint(ctx context.Context, smtp string, cp store.Checkpoint) error {
	return s.saveColumn(ctx, "checkpoint", smtp, encodeCheckpoint(cp), nil)
}

// SaveStatus stores the sync status of a mailbox.
func (s *Store) SaveStatus(ctx context.Context, st store.MailboxStatus) error {
	return s.saveColumn(ctx, "status", st.SMTP, encodeStatus(st), nil)
}

// SaveOOF stores the automatic-replies settings of a mailbox.
func (s *Store) SaveOOF(ctx context.Context, smtp string, oof calendar.OOFSettings) error {
	return s.saveColumn(ctx, "oof", smtp, encodeOOF(oof), nil)
}

// columnNames says what each mailbox column holds, for errors.
var columnNames = map[string]string{"checkpoint": "checkpoint", "status": "status", "oof": "automatic replies"}

// saveColumn writes one part of a mailbox record; with a fence, in a
// transaction that first checks the lease.
func (s *Store) saveColumn(ctx context.Context, column, smtp string, row any, f *fence) error {
	if smtp == "" {
		return fmt.Errorf("pgstore: %s without mailbox address", columnNames[column])
	}
	doc, err := marshal(columnNames[column], row)
	if err != nil {
		return err
	}
	if f == nil {
		if err = s.check(ctx); err == nil {
			err = upsertColumn(ctx, s.pool, column, smtp, doc)
		}
	} else {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			if err := f.check(ctx, tx, smtp); err != nil {
				return err
			}
			return upsertColumn(ctx, tx, column, smtp, doc)
		})
	}
	if err != nil {
		return fmt.Errorf("pgstore: save %s of %s: %w", columnNames[column], smtp, err)
	}
	return nil
}

const recordColumns = `smtp, status, checkpoint, oof`

func scanRecord(row pgx.Row) (store.MailboxRecord, error) {
	var (
		smtp              string
		status, cp, oofDB []byte
		st                statusRow
		c                 checkpointRow
	)
	if err := row.Scan(&smtp, &status, &cp, &oofDB); err != nil {
		return store.MailboxRecord{}, err
	}
	if err := unmarshal("status of "+smtp, status, &st); err != nil {
		return store.MailboxRecord{}, err
	}
	if err := unmarshal("checkpoint of "+smtp, cp, &c); err != nil {
		return store.MailboxRecord{}, err
	}
	rec := store.MailboxRecord{Status: st.decode(smtp), Checkpoint: c.decode()}
	if oofDB != nil {
		var o oofRow
		if err := unmarshal("automatic replies of "+smtp, oofDB, &o); err != nil {
			return store.MailboxRecord{}, err
		}
		d := o.decode()
		rec.OOF = &d
	}
	return rec, nil
}

// Mailbox returns the record of one mailbox, or ErrNotFound.
func (s *Store) Mailbox(ctx context.Context, smtp string) (store.MailboxRecord, error) {
	if err := s.check(ctx); err != nil {
		return store.MailboxRecord{}, err
	}
	rec, err := scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM mailboxes WHERE smtp = $1`, smtp))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.MailboxRecord{}, fmt.Errorf("pgstore: mailbox %s: %w", smtp, store.ErrNotFound)
	}
	if err != nil {
		return store.MailboxRecord{}, fmt.Errorf("pgstore: mailbox %s: %w", smtp, err)
	}
	return rec, nil
}

// Mailboxes lists the records of all mailboxes, sorted by SMTP address in
// byte order (COLLATE "C", whatever the database's collation).
func (s *Store) Mailboxes(ctx context.Context) ([]store.MailboxRecord, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM mailboxes ORDER BY smtp COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list mailboxes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MailboxRecord, error) { return scanRecord(r) })
	if err != nil {
		return nil, fmt.Errorf("pgstore: list mailboxes: %w", err)
	}
	if out == nil {
		out = []store.MailboxRecord{}
	}
	return out, nil
}

// Occurrences returns the stored occurrences overlapping [start, end),
// sorted by start then item id.
func (s *Store) Occurrences(ctx context.Context, smtp string, start, end time.Time) ([]calendar.Occurrence, error) {
	var out []calendar.Occurrence
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM mailboxes WHERE smtp = $1)`, smtp).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return store.ErrNotFound
		}
		if !end.After(start) {
			return nil
		}
		// The row's own Overlaps decides: a zero-length occurrence at
		// start counts, which a plain interval test would miss.
		rows, err := tx.Query(ctx, `SELECT doc FROM occurrences
			WHERE smtp = $1 AND start_at <= $3 AND end_at >= $2
			ORDER BY start_at, item_id COLLATE "C"`, smtp, start, end)
		if err != nil {
			return err
		}
		docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return err
		}
		for _, d := range docs {
			var r occurrenceRow
			if err := unmarshal("occurrence of "+smtp, d, &r); err != nil {
				return err
			}
			if o := r.decode(); o.Overlaps(start, end) {
				out = append(out, o)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: occurrences of %s: %w", smtp, err)
	}
	store.SortOccurrences(out) // nanoseconds in jsonb may order finer than timestamptz
	return out, nil
}

// DeleteMailbox removes the record, occurrences, lease and presence of a
// mailbox; pending webhook messages stay.
func (s *Store) DeleteMailbox(ctx context.Context, smtp string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM mailboxes WHERE smtp = $1`, smtp)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `DELETE FROM leases WHERE smtp = $1`, smtp); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM presence WHERE smtp = $1`, smtp)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: delete mailbox %s: %w", smtp, err)
	}
	return nil
}
