package bench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as the simulator child, as the calsync
// binary does for `calsync bench -serve-sim`.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" && len(os.Args) > 2 && os.Args[1] == "bench" && os.Args[2] == "-serve-sim" {
		os.Exit(ServeSim(context.Background(), os.Args[3:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// simChild is what a bench run needs to start this test binary as its
// simulator child (TestMain serves it): the executable and a buffer for
// the child's stderr, shown when the run fails. Skipped with -short.
func simChild(t *testing.T) (exe string, stderr *bytes.Buffer) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a simulator process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe, &bytes.Buffer{}
}

// runSmall runs the bench on 40 mailboxes with this test binary as the
// simulator child.
func runSmall(t *testing.T, cfg Config) Result {
	t.Helper()
	exe, stderr := simChild(t)
	cfg.Mailboxes, cfg.Servers, cfg.Idle, cfg.SimExe, cfg.Stderr = 40, 2, 200*time.Millisecond, exe, stderr
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run(%+v) error = %v\n%s", cfg, err, stderr.String())
	}
	return r
}

func TestRunSmall(t *testing.T) {
	r := runSmall(t, Config{Changes: 10})
	if r.InitialLoad <= 0 || r.AllSubscribed <= 0 || r.Samples != 10 {
		t.Errorf("Run() = %+v, want load and subscribe times and 10 delay samples", r)
	}
	if r.Connections > r.MaxConnectionsNeed || r.Connections == 0 {
		t.Errorf("streaming connections = %d, want 1..%d", r.Connections, r.MaxConnectionsNeed)
	}
	if n := r.LoadCauses.Reads["initial"]; n != 40 {
		t.Errorf("CalendarView requests of first loads = %d (by reason %v), want 40", n, r.LoadCauses.Reads)
	}
	var out bytes.Buffer
	WriteTable(&out, []Result{r})
	if !strings.Contains(out.String(), "| 40 mailboxes |") || !strings.Contains(out.String(), "| CalendarView requests by reason (load + subscribe) |") {
		t.Errorf("table lacks the size column or the reads by reason:\n%s", out.String())
	}
}

// TestRunSmallOverNTLM: the bench's NTLM path syncs every mailbox with no
// error (the engine would report HTTP401 as a failing mailbox and the load
// would not complete).
func TestRunSmallOverNTLM(t *testing.T) {
	r := runSmall(t, Config{Changes: 5, Auth: "ntlm"})
	if r.InitialLoad <= 0 || r.Samples != 5 || r.ThrottlingErrors != 0 {
		t.Errorf("Run(ntlm) = %+v, want a completed load, 5 delay samples and no throttling", r)
	}
}

// TestRunSmallRestart: the restart mode finds every mailbox's sync state,
// applies the changed mailboxes' new items from their checks and reports
// them right.
func TestRunSmallRestart(t *testing.T) {
	r := runSmall(t, Config{Restart: true, RestartChanges: 2, RestartReconcile: 3 * time.Second})
	rr := r.Restart
	if rr == nil || rr.Changed != 2 || rr.Live <= 0 || rr.Correct <= 0 {
		t.Fatalf("Run(restart) = %+v, want a restart with 2 changed mailboxes, all live and right", rr)
	}
	if got := rr.Requests["SyncFolderItems"]; got != 40 {
		t.Errorf("restart: %d SyncFolderItems, want one per mailbox (40)", got)
	}
	// The changes are single items: the checks' answers hold them.
	if got := rr.Requests["FindItem"]; got != 0 || rr.Patched != 2 {
		t.Errorf("restart: %d CalendarView (FindItem), %d windows applied from the check; want 0 and 2", got, rr.Patched)
	}
	if rr.SyncChecks["unchanged"] != 38 {
		t.Errorf("restart: sync checks %v, want 38 unchanged", rr.SyncChecks)
	}
}
