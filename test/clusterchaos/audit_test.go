package clusterchaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/store/pgstore"
)

// The audit the test installs in the cluster's database before the
// instances start. Every instance connects with its id as
// application_name (clusterrig), so a trigger knows which instance wrote.
//
//   - chaos_writes: every write to a mailbox row (all of an owner's
//     fenced writes upsert it: CommitWindow, SaveCheckpoint, SaveStatus,
//     SaveOOF), and every presence publication, with the writer and the
//     lease's owner and epoch as the writing transaction sees them. The
//     fence reads the lease row FOR SHARE before the write, so a takeover
//     (which updates that row) cannot slip between the fence and the
//     trigger: what the trigger sees is what the fence judged.
//   - chaos_lease_changes: every change of a lease's owner or epoch (not
//     the renewals), with the old lease's end (the later of its row's
//     expiry and its owner's registration, as pgstore judges a lease
//     alive) and the changing transaction's time on the database clock.
//   - chaos_outbox: every webhook message ever enqueued, so that the test
//     can prove each one reached the receiver.
const auditSQL = `
CREATE TABLE chaos_writes (
	id     bigserial PRIMARY KEY,
	tbl    text NOT NULL,
	smtp   text NOT NULL,
	writer text NOT NULL,
	owner  text,
	epoch  bigint
);
CREATE FUNCTION chaos_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE o text; e bigint;
BEGIN
	SELECT owner, epoch INTO o, e FROM leases WHERE smtp = NEW.smtp;
	INSERT INTO chaos_writes (tbl, smtp, writer, owner, epoch)
		VALUES (TG_TABLE_NAME, NEW.smtp, current_setting('application_name'), o, e);
	RETURN NULL;
END $$;
CREATE TRIGGER chaos_mailboxes AFTER INSERT OR UPDATE ON mailboxes FOR EACH ROW EXECUTE FUNCTION chaos_write();
CREATE TRIGGER chaos_presence AFTER INSERT OR UPDATE ON presence FOR EACH ROW EXECUTE FUNCTION chaos_write();

CREATE TABLE chaos_lease_changes (
	id          bigserial PRIMARY KEY,
	op          text NOT NULL,
	smtp        text NOT NULL,
	old_owner   text,
	old_epoch   bigint,
	old_expires timestamptz,
	new_owner   text,
	new_epoch   bigint,
	tx_now      timestamptz NOT NULL
);
CREATE FUNCTION chaos_lease() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO chaos_lease_changes (op, smtp, new_owner, new_epoch, tx_now)
			VALUES ('insert', NEW.smtp, NEW.owner, NEW.epoch, now());
	ELSIF TG_OP = 'DELETE' THEN
		INSERT INTO chaos_lease_changes (op, smtp, old_owner, old_epoch, old_expires, tx_now)
			VALUES ('delete', OLD.smtp, OLD.owner, OLD.epoch, OLD.expires_at, now());
	ELSIF OLD.owner <> NEW.owner OR OLD.epoch <> NEW.epoch THEN
		-- A lease lives while its row's expiry or its owner's registration
		-- has not passed (pgstore/leaseset.go): the later of the two.
		INSERT INTO chaos_lease_changes (op, smtp, old_owner, old_epoch, old_expires, new_owner, new_epoch, tx_now)
			VALUES ('update', NEW.smtp, OLD.owner, OLD.epoch,
				greatest(OLD.expires_at, (SELECT expires_at FROM instances WHERE id = OLD.owner)),
				NEW.owner, NEW.epoch, now());
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER chaos_leases AFTER INSERT OR UPDATE OR DELETE ON leases FOR EACH ROW EXECUTE FUNCTION chaos_lease();

CREATE TABLE chaos_outbox (id text PRIMARY KEY, key text NOT NULL, event_type text NOT NULL, writer text NOT NULL);
CREATE FUNCTION chaos_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO chaos_outbox (id, key, event_type, writer)
		VALUES (NEW.id, NEW.key, NEW.event_type, current_setting('application_name')) ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$;
CREATE TRIGGER chaos_outbox AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION chaos_enqueue();
`

// installAudit migrates the fresh database (as an instance would at
// start) and adds the audit.
func installAudit(ctx context.Context, url string) error {
	st, err := pgstore.Open(ctx, url)
	if err != nil {
		return err
	}
	st.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, auditSQL)
	return err
}

// auditResult is what the audit recorded, checked.
type auditResult struct {
	writes, presenceWrites, ownerChanges int
	// violations of single ownership: a write by an instance other than
	// the lease's owner (or with no lease at all), a lease taken from an
	// owner before it expired, an epoch that did not grow.
	violations []string
	// staleOverwrites are presence publications by an instance that did
	// not hold the user's lease (presence is not fenced: reported).
	stalePresence []string
}

func checkAudit(t *testing.T, url string) auditResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var res auditResult
	rows, err := conn.Query(ctx, `SELECT id, tbl, smtp, writer, coalesce(owner, ''), coalesce(epoch, 0) FROM chaos_writes ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var id, epoch int64
	var tbl, smtp, writer, owner string
	_, err = pgx.ForEachRow(rows, []any{&id, &tbl, &smtp, &writer, &owner, &epoch}, func() error {
		if tbl == "presence" {
			res.presenceWrites++
			if writer != owner {
				res.stalePresence = append(res.stalePresence, fmt.Sprintf("write %d: %s published %s's presence while %q held its lease (epoch %d)", id, writer, smtp, owner, epoch))
			}
			return nil
		}
		res.writes++
		if writer != owner {
			res.violations = append(res.violations, fmt.Sprintf("write %d: %s wrote mailbox %s while %q held its lease (epoch %d)", id, writer, smtp, owner, epoch))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err = conn.Query(ctx, `SELECT id, op, smtp, coalesce(old_owner, ''), coalesce(old_epoch, 0), old_expires,
		coalesce(new_owner, ''), coalesce(new_epoch, 0), tx_now FROM chaos_lease_changes ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var op, oldOwner, newOwner string
	var oldEpoch, newEpoch int64
	var oldExpires *time.Time
	var txNow time.Time
	lastEpoch := map[string]int64{}
	_, err = pgx.ForEachRow(rows, []any{&id, &op, &smtp, &oldOwner, &oldEpoch, &oldExpires, &newOwner, &newEpoch, &txNow}, func() error {
		switch op {
		case "update":
			if oldOwner != newOwner {
				res.ownerChanges++
				if oldExpires == nil || oldExpires.After(txNow) {
					res.violations = append(res.violations, fmt.Sprintf("lease change %d: %s taken from %s by %s at %s, before the lease expired at %v",
						id, smtp, oldOwner, newOwner, txNow.Format(time.RFC3339Nano), oldExpires))
				}
			}
			fallthrough
		case "insert":
			if newEpoch <= lastEpoch[smtp] {
				res.violations = append(res.violations, fmt.Sprintf("lease change %d: %s's epoch went from %d to %d (%s)", id, smtp, lastEpoch[smtp], newEpoch, newOwner))
			}
			lastEpoch[smtp] = newEpoch
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// enqueued lists every webhook message id ever put in the outbox.
func enqueued(t *testing.T, url string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT id, key FROM chaos_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var id, key string
	if _, err := pgx.ForEachRow(rows, []any{&id, &key}, func() error { out[id] = key; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}
