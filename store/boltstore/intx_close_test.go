package boltstore_test

import (
	"context"
	"path/filepath"
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
