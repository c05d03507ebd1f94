package engine

import (
	"runtime/debug"
	"sync"
)

// releaseAfter is how many mailboxes must have loaded since the last
// release for the end of a load to release memory again: a load
// allocates about 200 KB per mailbox that is garbage at its end, a few
// added mailboxes are not worth a forced collection.
const releaseAfter = 100

// memoryReleaser is a store that can give back memory it holds for reads
// done (boltstore: the resident pages of its memory map).
type memoryReleaser interface {
	ReleaseMemory() error
}

// loadTracker notices the end of a load — every started worker has been
// live once, or left before — and then returns the load's transient memory:
// the store's resident map pages and the heap the collector freed but the
// runtime keeps (debug.FreeOSMemory). Without it, after a load of 10,000
// mailboxes the process kept 63 MiB of freed heap and 57 MiB of the
// store's map for minutes (docs/BENCHMARKS.md, "Memory").
type loadTracker struct {
	mu      sync.Mutex
	loading int // started workers not yet live once
	loaded  int // first lives since the last release
	due     chan struct{}
	// release does the work; replaced in tests.
	release func()
}

func newLoadTracker(st any) *loadTracker {
	t := &loadTracker{due: make(chan struct{}, 1)}
	t.release = func() {
		if r, ok := st.(memoryReleaser); ok {
			_ = r.ReleaseMemory() // only memory: an error leaves the pages mapped
		}
		debug.FreeOSMemory()
	}
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
	}
	due := t.loading == 0 && t.loaded >= releaseAfter
	if due {
		t.loaded = 0
	}
	t.mu.Unlock()
	if due {
		select {
		case t.due <- struct{}{}:
		default:
		}
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
		}
	}
}
