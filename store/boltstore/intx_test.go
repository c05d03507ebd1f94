package boltstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/store/storetest"
)

var inTxNow = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// publishAndSave is what the presence scheduler's publication does in
// one InTx (app/presencepublish.go): the webhook into the outbox, then
// the user's last published presence.
func publishAndSave(ctx context.Context, s *boltstore.Store, user string, between func() error) error {
	if _, err := s.Enqueue(ctx, []store.OutboxMessage{{Endpoint: "uc", Key: user, EventType: "presence.changed",
		Payload: []byte(`{}`), CreatedAt: inTxNow, NextAttempt: inTxNow}}); err != nil {
		return err
	}
	if between != nil {
		if err := between(); err != nil {
			return err
		}
	}
	return s.SavePresences(ctx, map[string][]byte{user: []byte(`{"availability":"available"}`)})
}

// storedFor reports how many outbox messages user has and whether its
// presence is stored.
func storedFor(t *testing.T, s *boltstore.Store, user string) (outbox int, presence bool) {
	t.Helper()
	due, err := s.Due(t.Context(), "uc", inTxNow.Add(time.Hour), 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range due {
		if m.Key == user {
			outbox++
		}
	}
	docs, err := s.LoadPresence(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, presence = docs[user]
	return outbox, presence
}

// TestInTxWritesThePublicationAndThePresenceTogether: an outbox message
// and a presence written inside one InTx become durable together, or,
// when its function or one of its writes fails, neither does.
func TestInTxWritesThePublicationAndThePresenceTogether(t *testing.T) {
	s := openTemp(t, boltstore.Options{NoSync: true})
	defer s.Close()
	ctx := t.Context()

	crash := errors.New("the publication failed after the webhook was enqueued")
	err := s.InTx(ctx, func(ctx context.Context) error {
		return publishAndSave(ctx, s, "rolled@example.com", func() error { return crash })
	})
	if !errors.Is(err, crash) {
		t.Fatalf("InTx = %v, want its function's error", err)
	}
	if n, p := storedFor(t, s, "rolled@example.com"); n != 0 || p {
		t.Errorf("after a failed InTx: %d outbox messages, presence stored %v; want neither", n, p)
	}

	// A write that fails inside the transaction keeps the others out,
	// even when the function goes on and returns nil.
	dup := store.OutboxMessage{Endpoint: "other", Key: "x", EventType: "presence.changed", ID: "dup"}
	if _, err := s.Enqueue(ctx, []store.OutboxMessage{dup}); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(ctx context.Context) error {
		_ = publishAndSave(ctx, s, "half@example.com", func() error {
			if _, err := s.Enqueue(ctx, []store.OutboxMessage{dup}); !errors.Is(err, store.ErrConflict) {
				t.Errorf("Enqueue of an existing id = %v, want ErrConflict", err)
			}
			return nil // the caller ignores it
		})
		return nil
	})
	if err == nil {
		t.Errorf("InTx after a failed write = nil, want an error")
	}
	if n, p := storedFor(t, s, "half@example.com"); n != 0 || p {
		t.Errorf("after an InTx with a failed write: %d outbox messages, presence stored %v; want neither", n, p)
	}

	// Writes see each other inside, other readers only after the commit.
	err = s.InTx(ctx, func(ctx context.Context) error {
		return publishAndSave(ctx, s, "kept@example.com", func() error {
			if n, _ := storedFor(t, s, "kept@example.com"); n != 0 {
				t.Errorf("another reader sees %d uncommitted outbox messages", n)
			}
			stats, err := s.OutboxStats(ctx)
			if err != nil || stats["uc"].Pending != 1 {
				t.Errorf("inside the transaction OutboxStats = %+v, %v; want the message just enqueued", stats, err)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, p := storedFor(t, s, "kept@example.com"); n != 1 || !p {
		t.Errorf("after InTx: %d outbox messages, presence stored %v; want 1 and true", n, p)
	}
}

// TestInTxWaitsForNoOtherWriter: a write of another goroutine while an
// InTx holds its transaction waits and then succeeds; two windows
// committed inside one InTx are both stored as given (each commit's
// buffers stay its own until the transaction ends).
func TestInTxWaitsForNoOtherWriter(t *testing.T) {
	s := openTemp(t, boltstore.Options{NoSync: true})
	defer s.Close()
	ctx := t.Context()
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	win := calendar.Window{Start: start, End: start.Add(15 * 24 * time.Hour)}
	commit := func(ctx context.Context, smtp string) error {
		return s.CommitWindow(ctx, smtp, store.WindowCommit{Occurrences: storetest.SampleOccurrences(smtp, 20, start, 0), Checkpoint: store.Checkpoint{Window: win}})
	}
	other := make(chan error, 1)
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := commit(ctx, "a@example.com"); err != nil {
			return err
		}
		go func() { other <- s.SavePresence(context.Background(), "other@example.com", []byte(`{}`)) }()
		return commit(ctx, "b@example.com")
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-other; err != nil {
		t.Errorf("a write made beside the InTx: %v", err)
	}
	for _, smtp := range []string{"a@example.com", "b@example.com"} {
		got, err := s.Occurrences(ctx, smtp, win.Start, win.End)
		if err != nil {
			t.Fatal(err)
		}
		want := storetest.SampleOccurrences(smtp, 20, start, 0)
		store.SortOccurrences(want)
		if len(got) != len(want) {
			t.Fatalf("%s: %d occurrences stored, want %d", smtp, len(got), len(want))
		}
		for i := range got {
			if got[i].ItemID != want[i].ItemID || got[i].Subject != want[i].Subject {
				t.Fatalf("%s: occurrence %d is %.20s…, want %.20s…", smtp, i, got[i].ItemID, want[i].ItemID)
			}
		}
	}
}

const (
	envInTxChild = "BOLTSTORE_INTX_CHILD"
	inTxKilledAt = 20 // the child blocks inside the InTx of this user
)

func inTxUser(i int) string { return fmt.Sprintf("user%03d@example.com", i) }

// TestInTxCrashChild is the process TestInTxCrashLeavesNoHalfPublication
// kills: it publishes and saves users one InTx each, printing what it did;
// inside the InTx of user inTxKilledAt, after the enqueue, it waits for
// the kill.
func TestInTxCrashChild(t *testing.T) {
	if os.Getenv(envInTxChild) != "1" {
		t.Skip("the child process of TestInTxCrashLeavesNoHalfPublication")
	}
	s, err := boltstore.Open(os.Getenv(envCrashDB), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		err := s.InTx(t.Context(), func(ctx context.Context) error {
			return publishAndSave(ctx, s, inTxUser(i), func() error {
				fmt.Printf("enqueued %d\n", i)
				if i == inTxKilledAt {
					_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // the parent never writes
					return errors.New("stdin closed before the kill")
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", i)
	}
}

// TestInTxCrashLeavesNoHalfPublication kills (SIGKILL) a process inside an
// InTx, after its webhook was enqueued and before its presence was saved,
// then reopens the file: every user the child saw committed has both its
// outbox message and its presence, the killed one has neither. Published
// and saved in two transactions, the killed user's webhook stayed without
// its presence, and the restarted scheduler published it again as the
// user's first.
func TestInTxCrashLeavesNoHalfPublication(t *testing.T) {
	if os.Getenv(envInTxChild) == "1" {
		t.Skip("inside the child")
	}
	path := filepath.Join(t.TempDir(), "intx.db")
	cmd, lines, stderr := startChild(t, "TestInTxCrashChild", envInTxChild+"=1", envCrashDB+"="+path)
	committed := 0
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) != 2 {
			continue
		}
		i, _ := strconv.Atoi(f[1])
		if f[0] == "committed" {
			committed = i
		}
		if f[0] == "enqueued" && i == inTxKilledAt {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if committed != inTxKilledAt-1 {
		t.Fatalf("the child committed %d users before it was killed, want %d; stderr:\n%s", committed, inTxKilledAt-1, stderr.String())
	}

	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	defer s.Close()
	for i := 1; i <= inTxKilledAt; i++ {
		n, p := storedFor(t, s, inTxUser(i))
		switch {
		case i < inTxKilledAt && (n != 1 || !p):
			t.Errorf("%s, committed before the kill: %d outbox messages, presence stored %v; want 1 and true", inTxUser(i), n, p)
		case i == inTxKilledAt && (n != 0 || p):
			t.Errorf("%s, killed inside its InTx: %d outbox messages, presence stored %v; want neither", inTxUser(i), n, p)
		}
	}
}
