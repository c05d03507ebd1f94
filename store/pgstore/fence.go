package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// Epochs tells a fenced store the lease epoch this instance holds on a
// mailbox (from AcquireLeaseEpoch); ok is false when it holds none.
type Epochs func(smtp string) (epoch int64, ok bool)

// Fenced returns a view of s for the owner of mailboxes: its mailbox
// writes (CommitWindow, SaveCheckpoint, SaveStatus, SaveOOF) carry the
// epoch epochs gives and are refused with store.ErrConflict, changing
// nothing, unless the mailbox's lease still has that epoch. So an instance
// that was paused past its lease (GC, partition) cannot overwrite what the
// new owner wrote. Every other method, Close included, is s's own.
//
// The check reads the lease row FOR SHARE inside the write's transaction:
// a takeover (AcquireLease updates the row) waits until the write commits,
// and a write after the takeover sees the new epoch.
func (s *Store) Fenced(epochs Epochs) store.Store {
	return &fenced{Store: s, fence: &fence{epochs: epochs}}
}

type fenced struct {
	*Store
	fence *fence
}

func (f *fenced) CommitWindow(ctx context.Context, smtp string, c store.WindowCommit) error {
	return f.commitWindow(ctx, smtp, c, f.fence)
}

func (f *fenced) SaveCheckpoint(ctx context.Context, smtp string, cp store.Checkpoint) error {
	return f.saveColumn(ctx, "checkpoint", smtp, encodeCheckpoint(cp), f.fence)
}

func (f *fenced) SaveStatus(ctx context.Context, st store.MailboxStatus) error {
	return f.saveColumn(ctx, "status", st.SMTP, encodeStatus(st), f.fence)
}

func (f *fenced) SaveOOF(ctx context.Context, smtp string, oof calendar.OOFSettings) error {
	return f.saveColumn(ctx, "oof", smtp, encodeOOF(oof), f.fence)
}

// fence checks a write's epoch; a nil fence lets every write through
// (the unfenced Store: one instance, or an administrator's delete).
type fence struct {
	epochs Epochs
}

func (f *fence) check(ctx context.Context, tx pgx.Tx, smtp string) error {
	if f == nil {
		return nil
	}
	mine, ok := f.epochs(smtp)
	if !ok {
		return fmt.Errorf("write refused: this instance holds no lease on %s: %w", smtp, store.ErrConflict)
	}
	var owner string
	var epoch int64
	err := tx.QueryRow(ctx, `SELECT owner, epoch FROM leases WHERE smtp = $1 FOR SHARE`, smtp).Scan(&owner, &epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("write under lease epoch %d refused: the lease on %s was released: %w", mine, smtp, store.ErrConflict)
	}
	if err != nil {
		return err
	}
	if epoch != mine {
		return fmt.Errorf("write under lease epoch %d refused: %s owns %s under epoch %d: %w", mine, owner, smtp, epoch, store.ErrConflict)
	}
	return nil
}

// held returns which of smtps are leased under the epoch this instance
// holds, reading their lease rows FOR SHARE in tx (check's rule for many
// mailboxes at once).
func (f *fence) held(ctx context.Context, tx pgx.Tx, smtps []string) (map[string]bool, error) {
	rows, err := tx.Query(ctx, `SELECT smtp, epoch FROM leases WHERE smtp = ANY($1::text[]) FOR SHARE`, smtps)
	if err != nil {
		return nil, err
	}
	var smtp string
	var epoch int64
	held := make(map[string]bool, len(smtps))
	_, err = pgx.ForEachRow(rows, []any{&smtp, &epoch}, func() error {
		if mine, ok := f.epochs(smtp); ok && mine == epoch {
			held[smtp] = true
		}
		return nil
	})
	return held, err
}
