package boltstore

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openGroup(t *testing.T) *groupCommit {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "g.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	return &groupCommit{db: db}
}

// holdLeader starts a write that blocks until release is closed, and
// returns once it runs: writes started after it queue up.
func holdLeader(t *testing.T, g *groupCommit, release chan struct{}) <-chan error {
	t.Helper()
	running := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- g.update(func(*bolt.Tx) error { close(running); <-release; return nil })
	}()
	<-running
	return done
}

// waitQueued waits until n writes are queued behind the leader.
func waitQueued(t *testing.T, g *groupCommit, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		got := len(g.queue)
		g.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func put(key string, txID *int) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		*txID = tx.ID()
		return tx.Bucket([]byte("b")).Put([]byte(key), []byte("v"))
	}
}

func stored(t *testing.T, g *groupCommit, key string) bool {
	t.Helper()
	var ok bool
	if err := g.db.View(func(tx *bolt.Tx) error { ok = tx.Bucket([]byte("b")).Get([]byte(key)) != nil; return nil }); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestGroupCommitShares: writes that arrive while one commits are
// committed together in the next transaction, each with its outcome.
func TestGroupCommitShares(t *testing.T) {
	g := openGroup(t)
	release := make(chan struct{})
	leader := holdLeader(t, g, release)
	ids := make([]int, 3)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, k := range []string{"a", "b", "c"} {
		wg.Go(func() { errs[i] = g.update(put(k, &ids[i])) })
	}
	waitQueued(t, g, 3)
	close(release)
	wg.Wait()
	if err := <-leader; err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"a", "b", "c"} {
		if errs[i] != nil || !stored(t, g, k) {
			t.Fatalf("write %s: %v, stored %v", k, errs[i], stored(t, g, k))
		}
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("queued writes ran in transactions %v, want one", ids)
	}
	if g.running || len(g.queue) != 0 {
		t.Fatal("group commit not idle after the writes")
	}
}

// TestGroupCommitFailureSplits: a failing write in a group gets its own
// error and leaves nothing behind; the writes before and after it are
// committed as if each had run alone, in order.
func TestGroupCommitFailureSplits(t *testing.T) {
	g := openGroup(t)
	release := make(chan struct{})
	leader := holdLeader(t, g, release)
	boom := errors.New("boom")
	var idA, idC int
	var sawA bool
	results := make(chan error, 3)
	started := func(fn func(*bolt.Tx) error, queued int) {
		go func() { results <- g.update(fn) }()
		waitQueued(t, g, queued)
	}
	started(put("a", &idA), 1)
	started(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("b")).Put([]byte("half"), []byte("v")); err != nil {
			return err
		}
		return boom
	}, 2)
	started(func(tx *bolt.Tx) error {
		idC = tx.ID()
		sawA = tx.Bucket([]byte("b")).Get([]byte("a")) != nil
		return tx.Bucket([]byte("b")).Put([]byte("c"), []byte("v"))
	}, 3)
	close(release)
	if err := <-leader; err != nil {
		t.Fatal(err)
	}
	var failed int
	for range 3 {
		if err := <-results; errors.Is(err, boom) {
			failed++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if failed != 1 || !stored(t, g, "a") || !stored(t, g, "c") || stored(t, g, "half") {
		t.Fatalf("failed %d; a %v, c %v, half-done write %v", failed, stored(t, g, "a"), stored(t, g, "c"), stored(t, g, "half"))
	}
	if !sawA || idC == idA {
		t.Fatalf("the write after the failed one did not run after the one before it (saw a: %v, tx %d after %d)", sawA, idC, idA)
	}
}

// TestGroupCommitPanic: a write that panics panics in its own caller; the
// others of its group are committed.
func TestGroupCommitPanic(t *testing.T) {
	g := openGroup(t)
	release := make(chan struct{})
	leader := holdLeader(t, g, release)
	var id int
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		_ = g.update(func(*bolt.Tx) error { panic("bad write") })
	}()
	waitQueued(t, g, 1)
	ok := make(chan error, 1)
	go func() { ok <- g.update(put("a", &id)) }()
	waitQueued(t, g, 2)
	close(release)
	if err := <-leader; err != nil {
		t.Fatal(err)
	}
	if r := <-recovered; r != "bad write" {
		t.Fatalf("recovered %v, want the write's panic", r)
	}
	if err := <-ok; err != nil || !stored(t, g, "a") {
		t.Fatalf("write after a panicking one: %v, stored %v", err, stored(t, g, "a"))
	}
}
