package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/internal/pgserver"
	"github.com/calsync/calsync/internal/testenv"
)

// TestRunSmallCluster: the cluster bench brings 60 mailboxes live on two
// instances, kills the one owning more, and sees every mailbox live again
// on the other with each booked appointment out of office; the table
// shows it.
func TestRunSmallCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a simulator and two calsync processes")
	}
	if _, err := pgserver.Binaries(); err != nil {
		testenv.Missing(t, err.Error(), pgserver.Install)
	}
	bin, err := clusterrig.Build(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	r, err := RunCluster(t.Context(), ClusterConfig{Instances: 2, Mailboxes: 60, Servers: 2, LeaseTTL: 3 * time.Second,
		PoolSize: 4, Timeout: 3 * time.Minute, Binary: bin, Stderr: &progress})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	owned := 0
	for _, n := range r.Owned {
		owned += n
	}
	if owned != 60 || len(r.RSS) != 2 || r.RSS[r.Victim] <= 0 {
		t.Errorf("after the load: owned %v, RSS %v; want 60 mailboxes over two instances with their memory", r.Owned, r.RSS)
	}
	if r.VictimOwned == 0 || r.Booked == 0 || r.Booked > r.VictimOwned {
		t.Errorf("killed %s owning %d, %d appointments booked; want some of its mailboxes checked", r.Victim, r.VictimOwned, r.Booked)
	}
	if r.AllLive <= 0 || r.FailoverLive <= 0 || r.Failover < r.FailoverLive || r.RequestsPerMailbox < 1 {
		t.Errorf("figures: %+v", r)
	}
	if r.LoadAutodiscover < 1 || r.LoadCauses.Reads["initial"] < 60 {
		t.Errorf("up to all live: %d Autodiscover requests, CalendarView by reason %v; want some and a first load of each of the 60", r.LoadAutodiscover, r.LoadCauses.Reads)
	}
	for id, l := range r.Limits {
		if id == r.Victim || l.N == 0 || l.Min < 1 || l.Max < l.Min {
			t.Errorf("budget limits sampled over the failover: %v; want the survivor's, each at least 1", r.Limits)
		}
	}
	if len(r.Limits) != 1 {
		t.Errorf("budget limits of %d instances sampled, want the one survivor's: %v", len(r.Limits), r.Limits)
	}
	// Every FindItem the simulator served during the failover was a
	// survivor's CalendarView (scraped after the simulator's count).
	var failoverReads int64
	for _, n := range r.FailoverCauses.Reads {
		failoverReads += n
	}
	if failoverReads < r.FailoverByOp["FindItem"] {
		t.Errorf("survivors' CalendarView requests during the failover %v, want at least the %d FindItem served then", r.FailoverCauses.Reads, r.FailoverByOp["FindItem"])
	}
	var table bytes.Buffer
	WriteClusterTable(&table, []ClusterResult{r})
	if !strings.Contains(table.String(), "| SIGKILL of | "+r.Victim) || !strings.Contains(table.String(), "survivors' budget limit") {
		t.Errorf("table:\n%s", table.String())
	}
}
