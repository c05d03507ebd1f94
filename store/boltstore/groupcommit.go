package boltstore

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit commits the writes that arrive while another write is being
// committed together, in one bolt transaction. bolt lets one writer in at a
// time, so a writer that finds the lock taken would wait anyway: it now
// waits as part of the next group, and the group shares the work every
// transaction repeats (copying the branch pages from the root down, the
// buckets' root nodes, the meta page, the write calls, and the fsync).
// During an initial load, when hundreds of workers commit their windows,
// this was the largest part of the store's CPU (docs/BENCHMARKS.md). Unlike
// bolt's Batch it adds no delay: a write that finds no transaction running
// starts one at once, alone.
//
// Each write stays all-or-nothing and the outcome is what running them one
// after the other in arrival order would give: when a write fails, the
// group is rolled back, the writes before it are committed again as a
// group, the failed one gets its error (it saw exactly the state it would
// have seen alone), and the rest go on as the next group. A write may
// therefore run more than once; it must be idempotent (its effects outside
// the transaction start over each time), as bolt's Batch requires too.
type groupCommit struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*groupWrite
	running bool // a leader is committing; later writes queue up
}

// groupWrite is one caller's write waiting for its outcome.
type groupWrite struct {
	fn func(*bolt.Tx) error
	// done receives the outcome, or errLead: "commit the queue yourself".
	done chan error
}

// errLead hands the role of committing the queue to a waiting writer.
var errLead = errors.New("boltstore: lead the next group")

// writePanic carries a write's panic to its own caller's goroutine.
type writePanic struct{ v any }

func (p writePanic) Error() string { return fmt.Sprint("boltstore: write panicked: ", p.v) }

// update runs fn in a write transaction, possibly shared with other writes.
func (g *groupCommit) update(fn func(*bolt.Tx) error) error {
	w := &groupWrite{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		g.lead()
	}
	err := <-w.done
	if errors.Is(err, errLead) {
		g.lead()
		err = <-w.done
	}
	if p, ok := err.(writePanic); ok {
		panic(p.v)
	}
	return err
}

// lead commits the queued writes (the leader's own among them) as one group,
// then hands leadership to the first writer that queued meanwhile, so that
// no caller keeps committing for others.
func (g *groupCommit) lead() {
	// Let the goroutines that are ready to run go first: during a load
	// many workers are about to commit, and those that reach update in
	// the meantime join this group instead of waiting for the next
	// transaction. In a 1,000-mailbox load without fsync this halved the
	// transactions (2,000 writes in 877–956 → 504–532,
	// docs/BENCHMARKS.md); a lone writer loses a scheduler pass.
	runtime.Gosched()
	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()
	g.commit(batch)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.running = false
		return
	}
	g.queue[0].done <- errLead
}

// commit runs the writes as one transaction and tells each its outcome,
// splitting the group around a write that fails (see groupCommit).
func (g *groupCommit) commit(batch []*groupWrite) {
	for len(batch) > 0 {
		failed, err := g.try(batch)
		if failed < 0 {
			for _, w := range batch {
				w.done <- err // nil, or the commit's own error for all
			}
			return
		}
		if failed > 0 {
			g.commit(batch[:failed])
		}
		batch[failed].done <- err
		batch = batch[failed+1:]
	}
}

// try runs the writes in one transaction. It returns the index of the
// write that failed (the transaction is then rolled back) with its error,
// or -1 with the outcome of the commit.
func (g *groupCommit) try(batch []*groupWrite) (failed int, err error) {
	failed = -1
	err = g.db.Update(func(tx *bolt.Tx) error {
		for i, w := range batch {
			if werr := runWrite(w.fn, tx); werr != nil {
				failed = i
				return werr
			}
		}
		return nil
	})
	return failed, err
}

// runWrite calls fn, turning a panic into a writePanic.
func runWrite(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = writePanic{r}
		}
	}()
	return fn(tx)
}
