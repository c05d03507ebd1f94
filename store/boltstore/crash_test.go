package boltstore_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/storetest"
)

const (
	envCrashChild = "BOLTSTORE_CRASH_CHILD"
	envCrashDB    = "BOLTSTORE_CRASH_DB"
	crashWriters  = 4 // concurrent writers, so that group commits hold several windows
	crashPerWrite = 5 // mailboxes per writer
	crashAcks     = 300
)

var crashStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// crashCommit is version v of a mailbox's window: 5–44 occurrences whose
// change keys, the checkpoint's sync state and the status's count all
// say v, so that a mix of two commits shows.
func crashCommit(smtp string, v int) store.WindowCommit {
	n := 5 + v%40
	occs := storetest.SampleOccurrences(smtp, n, crashStart, 0)
	for i := range occs {
		occs[i].ChangeKey = strconv.Itoa(v)
	}
	return store.WindowCommit{Occurrences: occs,
		Checkpoint: store.Checkpoint{Window: calendar.Window{Start: crashStart, End: crashStart.Add(15 * 24 * time.Hour)}, SyncState: strconv.Itoa(v)},
		Status:     &store.MailboxStatus{SMTP: smtp, State: "live", Occurrences: n}}
}

// TestCrashChild is the process TestCrashKeepsWindowAndCheckpointTogether
// kills: it commits windows until it dies, printing each commit once
// CommitWindow returned.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envCrashChild) != "1" {
		t.Skip("the child process of TestCrashKeepsWindowAndCheckpointTogether")
	}
	st, err := boltstore.Open(os.Getenv(envCrashDB), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for v := 1; ; v++ {
				smtp := fmt.Sprintf("user%d-%d@example.com", w, v%crashPerWrite)
				if err := st.CommitWindow(t.Context(), smtp, crashCommit(smtp, v)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Printf("committed %s %d\n", smtp, v)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// startChild runs the test named run of this test binary as a child
// process with env added, and returns it with its output's lines. Its
// standard input stays open until the test ends, so a child can wait on
// it for the kill.
func startChild(t *testing.T, run string, env ...string) (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), env...)
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close() })
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out), stderr
}

// TestCrashKeepsWindowAndCheckpointTogether kills (SIGKILL) a process
// that commits windows from four goroutines, then reopens its file: every
// mailbox holds exactly one commit's window with that commit's checkpoint
// and status, never a mix, and no older commit than the last one the
// child saw return.
func TestCrashKeepsWindowAndCheckpointTogether(t *testing.T) {
	if os.Getenv(envCrashChild) == "1" {
		t.Skip("inside the child")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd, lines, stderr := startChild(t, "TestCrashChild", envCrashChild+"=1", envCrashDB+"="+path)
	acked := map[string]int{} // mailbox → last version whose CommitWindow returned
	n := 0
	for n < crashAcks && lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) != 3 || f[0] != "committed" {
			continue
		}
		v, _ := strconv.Atoi(f[2])
		acked[f[1]] = v
		n++
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if n < crashAcks {
		t.Fatalf("the child acknowledged %d commits before it ended; stderr:\n%s", n, stderr.String())
	}

	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	defer st.Close()
	recs, err := st.Mailboxes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < len(acked) {
		t.Errorf("%d mailboxes after the kill, %d were acknowledged", len(recs), len(acked))
	}
	for _, rec := range recs {
		smtp := rec.Status.SMTP
		v, err := strconv.Atoi(rec.Checkpoint.SyncState)
		if err != nil {
			t.Errorf("%s: checkpoint %q", smtp, rec.Checkpoint.SyncState)
			continue
		}
		if v < acked[smtp] {
			t.Errorf("%s: version %d stored, %d was acknowledged", smtp, v, acked[smtp])
		}
		want := crashCommit(smtp, v)
		occs, err := st.Occurrences(t.Context(), smtp, want.Checkpoint.Window.Start, want.Checkpoint.Window.End)
		if err != nil {
			t.Errorf("%s: %v", smtp, err)
			continue
		}
		if len(occs) != len(want.Occurrences) || rec.Status.Occurrences != len(want.Occurrences) {
			t.Errorf("%s: checkpoint of version %d with %d occurrences and a status counting %d; that commit had %d", smtp, v, len(occs), rec.Status.Occurrences, len(want.Occurrences))
		}
		for _, o := range occs {
			if o.ChangeKey != rec.Checkpoint.SyncState {
				t.Errorf("%s: occurrence %.12s… of version %s beside the checkpoint of version %d", smtp, o.ItemID, o.ChangeKey, v)
				break
			}
		}
	}
	t.Logf("killed after %d acknowledged commits; %d mailboxes consistent", n, len(recs))
}
