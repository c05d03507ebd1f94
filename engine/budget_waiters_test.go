package engine

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/calsync/calsync/internal/testenv"
)

// A granted waiter's channel is garbage once its acquire returned: the
// semaphore's queue no longer points to it (why: docs/BENCHMARKS.md,
// "Partly used spans after the load (session 10)").
func TestAGrantedWaitersChannelIsNotKeptByTheQueue(t *testing.T) {
	s := newSemaphore(1)
	if err := s.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 2)
	queued := func(n int) func() bool {
		return func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(s.waiters) == n
		}
	}
	// Two waiters: the first is granted while the second still waits in
	// the same array.
	go func() { got <- s.acquire(context.Background()) }()
	testenv.WaitFor(t, "the second acquire to queue", queued(1))
	go func() { got <- s.acquire(context.Background()) }()
	testenv.WaitFor(t, "the third acquire to queue", queued(2))
	var collected atomic.Bool
	s.mu.Lock()
	ch := s.waiters[0]
	s.mu.Unlock()
	// A channel value is a pointer to the runtime's channel object.
	runtime.AddCleanup((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&ch))), func(c *atomic.Bool) { c.Store(true) }, &collected)
	ch = nil
	s.release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the granted waiter's channel to be collected", func() bool {
		runtime.GC()
		return collected.Load()
	})
	s.release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	_ = ch
}
