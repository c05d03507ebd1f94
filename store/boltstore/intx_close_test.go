package boltstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/boltstore"
)

// TestInTxReadsBeforeItsFirstWriteWhileCloseWaits: a read made with an
// InTx's context before the transaction's first write does not take the
// store's lock a second time. InTx holds it while its function runs, and
// a Close waiting for that hold lets no new holder in: the read waited for
// the Close and the Close for the InTx, and both hung (fails without:
// timed out waiting for the InTx to return).
func TestInTxReadsBeforeItsFirstWriteWhileCloseWaits(t *testing.T) {
	const user = "a@example.com"
	path := filepath.Join(t.TempDir(), "calsync.db")
	// Opened without openTemp's habits: a failing run leaves this store
	// hung, and nothing may wait for it at the test's end.
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	inside, proceed := make(chan struct{}), make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- s.InTx(context.Background(), func(ctx context.Context) error {
			close(inside)
			<-proceed
			if _, err := s.LoadPresence(ctx); err != nil { // before any write
				return err
			}
			return s.SavePresences(ctx, map[string][]byte{user: []byte(`{"availability":"busy"}`)})
		})
	}()
	<-inside
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	testenv.WaitFor(t, "Close to wait for the InTx", func() bool { return boltstore.CloseWaiting(s) })
	close(proceed)
	var inTxErr error
	testenv.WaitFor(t, "the InTx to return", func() bool {
		select {
		case inTxErr = <-result:
			return true
		default:
			return false
		}
	})
	if inTxErr != nil {
		t.Fatalf("InTx: %v", inTxErr)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	docs, err := s.LoadPresence(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(docs[user]); got != `{"availability":"busy"}` {
		t.Errorf("presence after the InTx and a reopen: %q, want the InTx's", got)
	}
}

// TestInTxContextAfterTheInTxIsAnError: a read or write made with the
// context of an InTx that has returned is refused with an error that says
// so, and the store stays usable. Before, after an InTx that wrote, it used
// the finished bolt transaction (a nil-pointer panic); after one that wrote
// nothing, a write began a transaction that nobody committed, and every
// later write of the store waited for bolt's writer lock for good.
func TestInTxContextAfterTheInTxIsAnError(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "calsync.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	usable := false
	defer func() {
		if usable { // a failing run may leave bolt's writer lock taken
			_ = s.Close()
		}
	}()
	for _, wrote := range []bool{true, false} {
		var kept context.Context
		err := s.InTx(t.Context(), func(ctx context.Context) error {
			kept = ctx
			if wrote {
				return s.SavePresence(ctx, "a@example.com", []byte(`{}`))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("InTx (wrote %v): %v", wrote, err)
		}
		if err := s.SavePresence(kept, "late@example.com", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "after the InTx returned") {
			t.Errorf("a write with the context of a returned InTx (wrote %v): %v, want the error that says so", wrote, err)
		}
		if _, err := s.LoadPresence(kept); err == nil || !strings.Contains(err.Error(), "after the InTx returned") {
			t.Errorf("a read with the context of a returned InTx (wrote %v): %v, want the error that says so", wrote, err)
		}
	}
	written := make(chan error, 1)
	go func() { written <- s.SavePresence(t.Context(), "b@example.com", []byte(`{}`)) }()
	var werr error
	testenv.WaitFor(t, "a write after the misuse", func() bool {
		select {
		case werr = <-written:
			return true
		default:
			return false
		}
	})
	if werr != nil {
		t.Fatalf("a write after the misuse: %v", werr)
	}
	usable = true
	docs, err := s.LoadPresence(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := docs["late@example.com"]; ok {
		t.Error("the refused write was stored")
	}
}
