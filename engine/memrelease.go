package engine

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// releaseAfter is how many mailboxes must have loaded since the last
// release for the end of a load to release memory again: a load
// allocates about 200 KB per mailbox that is garbage at its end, a few
// added mailboxes are not worth a forced collection.
const releaseAfter = 100

// releaseDuring is how many first loads during a load make the store drop
// its map's resident pages before the load ends: every commit touches
// pages all over the store file, so during a load the map fills up again
// (about 32 MiB of a 128 MiB peak at 10,000 mailboxes, docs/BENCHMARKS.md
// "Memory at the load's peak"). Every 250 first loads still left 3.8–4.8
// MiB of the map resident at the peak of 1,000 mailboxes; every 100, 2.3–2.7
// (a release is a read transaction and one madvise; the pages a later
// commit needs fault in again from the page cache). Only the map: forcing
// a collection and returning the heap in the middle of a load would cost
// CPU and be allocated again at once.
const releaseDuring = 100

// memoryReleaser is a store that can give back memory it holds for reads
// done (boltstore: the resident pages of its memory map).
type memoryReleaser interface {
	ReleaseMemory() error
}

// loadTracker notices the end of a load — every started worker has been
// live once, or left before — and then returns the load's transient memory:
// the idle goroutines of the deep pool with their grown stacks, the store's
// resident map pages and the heap the collector freed but the runtime keeps
// (debug.FreeOSMemory). Without it, after a load of 10,000
// mailboxes the process kept 63 MiB of freed heap and 57 MiB of the
// store's map for minutes (docs/BENCHMARKS.md, "Memory").
type loadTracker struct {
	mu       sync.Mutex
	loading  int // started workers not yet live once
	loaded   int // first lives since the last release
	sinceMap int // first lives since the last release of the store's map
	due      chan struct{}
	dueMap   chan struct{}
	// release (at a load's end), settle (settleAfter later) and
	// releaseMap (during a load) do the work; replaced in tests.
	release, settle, releaseMap func()
	settleAfter                 time.Duration
	// released counts the releases at a load's end that are done
	// (settled).
	released atomic.Int64
}

// releaseSettle is how long after the release at a load's end the engine
// gives back what the load's tail left: the streaming connections of the
// last mailboxes open, their deep calls start pool goroutines again. At
// 10,000 mailboxes that tail freed 5–10 MiB of heap after the release,
// which the runtime then kept (below its scavenger's goal it returns
// nothing), docs/BENCHMARKS.md "Memory, session 8".
const releaseSettle = 2 * time.Second

func newLoadTracker(st any, deep *deepPool) *loadTracker {
	t := &loadTracker{due: make(chan struct{}, 1), dueMap: make(chan struct{}, 1)}
	t.releaseMap = func() {
		if r, ok := st.(memoryReleaser); ok {
			_ = r.ReleaseMemory() // only memory: an error leaves the pages mapped
		}
	}
	t.release = func() {
		// No collection here: the load's tail (the last streaming
		// connections, their deep calls) still allocates, and the settle
		// returns the heap once it has ended. Returning it now as well
		// cost 3–4 % of a 1,000-mailbox load's CPU (a forced collection
		// and an madvise of every free span, whose pages the tail then
		// faulted in again); the goroutines retired now have ended, and
		// their stacks are freed, by the settle's collection.
		deep.retireIdle()
		t.releaseMap()
	}
	t.settle = func() {
		deep.retireIdle()
		debug.FreeOSMemory()
		// Once more: the goroutines just retired end while the first
		// collection runs, and a small stack's span reaches the heap's
		// free spans only at the collection after its goroutine ended.
		// Without it 1.5–1.9 MiB stayed as freed heap the runtime kept
		// after a 10,000-mailbox load (docs/BENCHMARKS.md, "Final main of
		// session 9"); one more collection of the live heap, once per load.
		debug.FreeOSMemory()
	}
	t.settleAfter = releaseSettle
	return t
}

// started counts a new worker.
func (t *loadTracker) started() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.loading++
	t.mu.Unlock()
}

// ended counts a worker that is live for the first time (live=true) or
// that stops without having been live.
func (t *loadTracker) ended(live bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.loading--
	if live {
		t.loaded++
		t.sinceMap++
	}
	due := t.loading == 0 && t.loaded >= releaseAfter
	dueMap := !due && t.loading > 0 && t.sinceMap >= releaseDuring
	if due {
		t.loaded = 0
	}
	if due || dueMap {
		t.sinceMap = 0
	}
	t.mu.Unlock()
	switch {
	case due:
		signal(t.due)
	case dueMap:
		signal(t.dueMap)
	}
}

// signal sends on a 1-slot channel without blocking (one pending is enough).
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run releases memory after each load until done closes.
func (t *loadTracker) run(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-t.due:
			t.release()
			select {
			case <-done:
				return
			case <-time.After(t.settleAfter): // the runtime's memory: real time, not the engine's clock
			}
			t.settle()
			t.released.Add(1)
		case <-t.dueMap:
			t.releaseMap()
		}
	}
}
