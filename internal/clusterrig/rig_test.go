package clusterrig_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/internal/clusterrig/rigtest"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore"
)

// allLive waits until the running, unpaused instances sync every mailbox
// once between them, all live.
func allLive(t *testing.T, r *clusterrig.Rig, n int) {
	t.Helper()
	testenv.WaitForWithin(t, 2*time.Minute, "every mailbox live on the running instances", func() bool {
		st, err := r.States(context.Background())
		total := 0
		for _, v := range st {
			total += v
		}
		return err == nil && st["live"] == n && total == n
	})
}

// TestRigRunsAClusterAndBreaksIt: the rig's processes form one cluster
// (the mailboxes shared by both instances, every one live), the config
// files hold no secret, and each way of breaking it acts on the real
// process: SIGKILL (the survivor takes every mailbox), restart, SIGSTOP
// (the process stays but stops answering) and SIGCONT, a PostgreSQL
// restart (the instances reconnect), and Close ends every process.
func TestRigRunsAClusterAndBreaksIt(t *testing.T) {
	const n = 12
	r := rigtest.Start(t, clusterrig.Options{Instances: 2, Mailboxes: n, Servers: 2})
	ctx := context.Background()
	a, b := r.Instances()[0], r.Instances()[1]
	// The first instance up takes every mailbox; the second gets its share
	// at the next rounds.
	testenv.WaitForWithin(t, 2*time.Minute, "the mailboxes shared by both instances", func() bool {
		for _, in := range r.Instances() {
			if st, err := in.States(ctx); err != nil || st["live"] == 0 {
				return false
			}
		}
		return true
	})
	allLive(t, r, n)
	for _, in := range r.Instances() {
		cfg, err := os.ReadFile(in.ConfigPath())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(cfg), r.Sim().Password) || strings.Contains(string(cfg), "postgres://") {
			t.Errorf("%s's config file holds a secret:\n%s", in.ID, cfg)
		}
	}

	a.Kill()
	if a.Running() {
		t.Fatalf("%s still running after Kill", a.ID)
	}
	allLive(t, r, n)
	if st, _ := b.States(ctx); st["live"] != n {
		t.Errorf("after the kill %s syncs %v; want all %d live", b.ID, st, n)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	if err := b.Pause(); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err := b.States(short)
	cancel()
	if err == nil {
		t.Errorf("%s answered while paused", b.ID)
	}
	if err := b.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.States(ctx); err != nil {
		t.Errorf("%s does not answer after Resume: %v", b.ID, err)
	}

	if err := r.RestartPostgres(); err != nil {
		t.Fatal(err)
	}
	st, err := pgstore.Open(ctx, r.DatabaseURL())
	if err != nil {
		t.Fatalf("the database after its restart: %v", err)
	}
	defer st.Close()
	allLive(t, r, n)
	pids := []int{a.PID(), b.PID()}
	r.Close()
	for _, pid := range pids {
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			t.Errorf("process %d still runs after Close", pid)
		}
	}
}
