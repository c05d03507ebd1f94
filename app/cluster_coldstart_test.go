package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

// TestClusterColdStartPlacesEachMailboxOnce: three instances started
// together on an empty database learn the mailboxes' affinity groups with
// batched Autodiscover before placing them, so every mailbox gets one
// lease grant and never changes owner (before, each was placed alone,
// loaded, and most moved to their group's instance once it was known:
// a second load), every group stays together, and the whole load costs
// about what one instance's does.
func TestClusterColdStartPlacesEachMailboxOnce(t *testing.T) {
	const n = 300
	ctx := context.Background()
	dbURL := pgtest.Database(t)
	st, err := pgstore.Open(ctx, dbURL) // migrates: the audit needs the leases table
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	auditLeaseGrants(t, dbURL)
	sim, simURL, users := startSimOrg(t, n, 3, 5)
	// Built first, then started together, as a service manager starts a
	// cluster: the placement waits a third of the TTL for the others.
	var ins []*instance
	for _, id := range []string{"calsync-a", "calsync-b", "calsync-c"} {
		ins = append(ins, newInstance(t, id, dbURL, simURL, sim, users, "", 6*time.Second))
	}
	for _, in := range ins {
		in.run(t)
	}
	testenv.WaitForWithin(t, 2*time.Minute, "every mailbox live once, shared by three instances", func() bool {
		owned, live := 0, 0
		for _, in := range ins {
			if len(in.app.Owned()) == 0 {
				return false
			}
			owned += len(in.app.Owned())
			live += in.live()
		}
		return owned == n && live == n
	})
	if split := groupsSplit(t, st, ins); len(split) > 0 {
		t.Errorf("affinity groups split: %v", split)
	}
	grants, moved := leaseGrants(t, dbURL)
	if grants != n || len(moved) > 0 {
		t.Errorf("%d lease grants for %d mailboxes; granted more than once: %v", grants, n, moved[:min(len(moved), 10)])
	}
	stats := sim.Stats()
	perMailbox := float64(stats.RequestsTotal) / n
	t.Logf("cold start of 3 instances × %d mailboxes: %.3f EWS requests per mailbox %v", n, perMailbox, stats.Requests)
	// One load each: a FindItem and a Subscribe per mailbox, batched
	// Autodiscover, zone and mail-tip requests and the streaming
	// connections on top. A second load of most mailboxes (the old cold
	// start) is 3.5 and more.
	if perMailbox > 2.5 {
		t.Errorf("%.3f EWS requests per mailbox at a cold start; want one load each (≤ 2.5)", perMailbox)
	}
}

// auditLeaseGrants logs every lease grant (a new row, or a row whose epoch
// changed: another owner) into lease_grants.
func auditLeaseGrants(t *testing.T, dbURL string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `
		CREATE TABLE lease_grants (smtp text NOT NULL, owner text NOT NULL, epoch bigint NOT NULL);
		CREATE FUNCTION log_lease_grant() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF TG_OP = 'INSERT' OR NEW.epoch <> OLD.epoch THEN
				INSERT INTO lease_grants VALUES (NEW.smtp, NEW.owner, NEW.epoch);
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER lease_grants AFTER INSERT OR UPDATE ON leases FOR EACH ROW EXECUTE FUNCTION log_lease_grant();`); err != nil {
		t.Fatalf("installing the lease audit: %v", err)
	}
}

// leaseGrants counts the grants logged, and lists the mailboxes granted
// more than once with their owners in order.
func leaseGrants(t *testing.T, dbURL string) (int, []string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var total int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM lease_grants`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), `SELECT smtp || ': ' || string_agg(owner, ' → ' ORDER BY epoch)
		FROM lease_grants GROUP BY smtp HAVING count(*) > 1 ORDER BY smtp`)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return total, moved
}
