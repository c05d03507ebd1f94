package engine

import (
	"fmt"
	rtmetrics "runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// releasingStore records when the engine asks it to release memory and
// how many mailboxes were live then.
type releasingStore struct {
	store.Store
	mu       sync.Mutex
	live     func() int
	releases []int
}

func (s *releasingStore) ReleaseMemory() error {
	n := s.live()
	s.mu.Lock()
	s.releases = append(s.releases, n)
	s.mu.Unlock()
	return nil
}

func (s *releasingStore) calls() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.releases...)
}

func TestMemoryIsReleasedOnceAtTheEndOfALoad(t *testing.T) {
	fx := newFakeExchange()
	var names []string
	for i := range releaseAfter + 20 {
		names = append(names, fmt.Sprintf("u%03d@example.org", i))
	}
	st := &releasingStore{Store: memstore.New()}
	var h *harness
	var hmu sync.Mutex
	st.live = func() int {
		hmu.Lock()
		defer hmu.Unlock()
		return h.e.StateCounts()[StateLive]
	}
	hmu.Lock()
	h = start(t, fx, st, names, nil)
	hmu.Unlock()
	// The store's map may also be released during the load (every
	// releaseDuring first loads, with mailboxes still loading; on a busy
	// machine that release may run only once all are live): wait for the
	// release at the load's end itself, which has every mailbox live.
	testenv.WaitFor(t, "the release after the load", func() bool { return h.e.MemoryReleases() == 1 })
	releases := st.calls()
	if len(releases) == 0 || releases[len(releases)-1] != len(names) {
		t.Fatalf("releases = %v, want the last with all %d mailboxes live", releases, len(names))
	}
	if len(releases) > 1+len(names)/releaseDuring {
		t.Errorf("releases = %v, want one at the end and at most one per %d first loads", releases, releaseDuring)
	}
	// A few mailboxes more are not a load worth a forced collection.
	for i := range 5 {
		h.e.Add(fmt.Sprintf("late%d@example.org", i))
	}
	testenv.WaitFor(t, "the added mailboxes to be live", func() bool { return h.e.StateCounts()[StateLive] == len(names)+5 })
	if got := st.calls(); len(got) != len(releases) {
		t.Errorf("releases = %v, want %v (5 added mailboxes are below releaseAfter)", got, releases)
	}
}

func TestLoadTrackerCountsWorkersThatNeverWentLive(t *testing.T) {
	lt := newLoadTracker(nil, nil)
	var n atomic.Int32
	lt.release = func() { n.Add(1) }
	done := make(chan struct{})
	ran := make(chan struct{})
	go func() { lt.run(done); close(ran) }()
	for range releaseAfter + 1 {
		lt.started()
	}
	for range releaseAfter {
		lt.ended(true)
	}
	select {
	case <-lt.due:
		t.Fatal("release due while a worker still loads")
	default:
	}
	lt.ended(false) // removed before it was live: the load is over
	testenv.WaitFor(t, "the release", func() bool { return n.Load() == 1 })
	close(done)
	<-ran
}

func TestTheStoresMapIsReleasedDuringALongLoad(t *testing.T) {
	lt := newLoadTracker(nil, nil)
	var maps, full atomic.Int32
	lt.releaseMap = func() { maps.Add(1) }
	lt.release = func() { full.Add(1) }
	done := make(chan struct{})
	ran := make(chan struct{})
	go func() { lt.run(done); close(ran) }()
	defer func() { close(done); <-ran }()
	n := 2*releaseDuring + 10
	for range n {
		lt.started()
	}
	for range releaseDuring - 1 {
		lt.ended(true)
	}
	lt.ended(false) // a worker that left does not count as loaded
	if maps.Load() != 0 || len(lt.dueMap) != 0 {
		t.Fatalf("map released after %d first loads, want after %d", releaseDuring-1, releaseDuring)
	}
	lt.ended(true)
	testenv.WaitFor(t, "the map released once during the load", func() bool { return maps.Load() == 1 })
	for range releaseDuring {
		lt.ended(true)
	}
	testenv.WaitFor(t, "the map released a second time", func() bool { return maps.Load() == 2 })
	// The end of the load releases the map and the heap, once.
	for range n - 2*releaseDuring - 1 {
		lt.ended(true)
	}
	testenv.WaitFor(t, "the release at the end", func() bool { return full.Load() == 1 })
	if got := maps.Load(); got != 2 {
		t.Errorf("map-only releases = %d, want 2 (the end's release includes the map)", got)
	}
}

// The release at a load's end ends the deep pool's idle goroutines first,
// so that their grown stacks are freed by its collection.
func TestReleaseEndsTheDeepPoolsIdleGoroutines(t *testing.T) {
	p := newDeepPool(10)
	p.idle = time.Hour // only the release ends it
	defer p.stop()
	if err := p.run(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := p.running.Load(); n != 1 {
		t.Fatalf("%d goroutines after a call, want 1", n)
	}
	newLoadTracker(nil, p).release()
	testenv.WaitFor(t, "the idle goroutine to end", func() bool { return p.running.Load() == 0 })
}

// The release at a load's end is followed, settleAfter later, by a second
// one for what the load's tail left; only then does it count as done.
func TestTheReleaseAtALoadsEndSettles(t *testing.T) {
	lt := newLoadTracker(nil, nil)
	var mu sync.Mutex
	var order []string
	lt.release = func() { mu.Lock(); order = append(order, "release"); mu.Unlock() }
	lt.settle = func() { mu.Lock(); order = append(order, "settle"); mu.Unlock() }
	lt.settleAfter = time.Millisecond
	done := make(chan struct{})
	ran := make(chan struct{})
	go func() { lt.run(done); close(ran) }()
	defer func() { close(done); <-ran }()
	for range releaseAfter {
		lt.started()
	}
	if lt.released.Load() != 0 {
		t.Fatal("released before the load ended")
	}
	for range releaseAfter {
		lt.ended(true)
	}
	testenv.WaitFor(t, "the release to be done", func() bool { return lt.released.Load() == 1 })
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(order) != "[release settle]" {
		t.Errorf("order %v, want [release settle]", order)
	}
}

// The release at a load's end forces no collection — the load's tail still
// allocates, and a forced collection with the return of every free span
// cost 3–4 % of a 1,000-mailbox load's CPU — while the settle after it
// does, twice, and returns the heap.
func TestOnlyTheSettleCollects(t *testing.T) {
	lt := newLoadTracker(nil, nil)
	forced := func() uint64 {
		s := []rtmetrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		rtmetrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := forced()
	lt.release()
	if got := forced() - before; got != 0 {
		t.Errorf("the release at the load's end forced %d collections, want none", got)
	}
	lt.settle()
	if got := forced() - before; got != 2 {
		t.Errorf("the settle forced %d collections, want 2 (the second returns the stacks of the goroutines retired with the first)", got)
	}
}
