//go:build unix

package cli

import (
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/internal/pgserver"
	"github.com/calsync/calsync/internal/testenv"
)

// TestDemoCluster: `calsync demo --cluster 2` starts two instances of a
// real calsync binary on a throwaway PostgreSQL, prints their dashboards
// and how to kill one; killing it as printed is reported, and so is the
// failover once the other syncs every mailbox.
func TestDemoCluster(t *testing.T) {
	if _, err := pgserver.Binaries(); err != nil {
		testenv.Missing(t, err.Error(), pgserver.Install)
	}
	// The demo starts its instances from os.Executable(): here the test
	// binary, which cannot `run`; CALSYNC_BINARY is not consulted by the
	// demo, so build calsync and hand it over through demoExecutable.
	exe, err := clusterrig.Build(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	prev := demoExecutable
	t.Cleanup(func() { demoExecutable = prev }) // after the demo stopped (cleanups run last first)
	demoExecutable = func() (string, error) { return exe, nil }

	stdout, _ := startDemo(t, 60*time.Second, "--cluster", "2", "--mailboxes", "10", "--meeting-every", "0", "--churn", "0")
	killHint := regexp.MustCompile(`kill -9 (\d+)`)
	testenv.WaitForWithin(t, 2*time.Minute, "the dashboard and the kill hint on stdout", func() bool {
		return killHint.MatchString(stdout.String()) && regexp.MustCompile(`Dashboard: http://127\.0\.0\.1:\d+/`).MatchString(stdout.String())
	})
	testenv.WaitForWithin(t, 2*time.Minute, "every mailbox synced", func() bool {
		return regexp.MustCompile(`sync: 10/10 mailboxes synced`).MatchString(stdout.String())
	})
	pid, _ := strconv.Atoi(killHint.FindStringSubmatch(stdout.String())[1])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.WaitForWithin(t, 2*time.Minute, "the failover reported", func() bool {
		return regexp.MustCompile(`failover: all 10 mailboxes synced again`).MatchString(stdout.String())
	})
	t.Logf("demo output:\n%s", stdout.String())
}
