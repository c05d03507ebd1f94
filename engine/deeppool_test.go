package engine

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
)

func TestDeepPoolReturnsTheCallsResult(t *testing.T) {
	p := newDeepPool(10)
	defer p.stop()
	want := errors.New("boom")
	if err := p.run(func() error { return want }); !errors.Is(err, want) {
		t.Fatalf("run = %v, want %v", err, want)
	}
	ran := false
	if err := p.run(func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("run = %v, ran %v; want nil, true", err, ran)
	}
}

// A call that waits for another call (a request for a connection, a
// commit for the store's lock) must not wait for one that never starts.
func TestDeepPoolCallWaitingForAnotherCallProceeds(t *testing.T) {
	p := newDeepPool(10)
	defer p.stop()
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- p.run(func() error {
			<-release
			return nil
		})
	}()
	// The second call runs while the first still waits, and releases it.
	if err := p.run(func() error { close(release); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

func TestDeepPoolRaisesAPanicOnTheCaller(t *testing.T) {
	p := newDeepPool(10)
	defer p.stop()
	defer func() {
		if r := recover(); r != "decoder bug" {
			t.Fatalf("recovered %v, want the call's panic", r)
		}
		// The pool still serves.
		if err := p.run(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}()
	_ = p.run(func() error { panic("decoder bug") })
	t.Fatal("run returned after a panic")
}

func TestDeepPoolStopEndsItsGoroutinesAndLaterCallsRunInline(t *testing.T) {
	p := newDeepPool(10)
	for range 3 {
		if err := p.run(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	p.stop() // returns only when every pool goroutine ended
	ran := false
	if err := p.run(func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("after stop: run = %v, ran %v", err, ran)
	}
	var nilPool *deepPool
	if err := nilPool.run(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// At the end of a load the idle goroutines end at once (with their grown
// stacks); a goroutine busy with a call is not interrupted, and the pool
// serves on.
func TestDeepPoolRetireIdleEndsTheIdleGoroutines(t *testing.T) {
	p := newDeepPool(10)
	p.idle = time.Hour // only retireIdle ends them
	defer p.stop()
	// Three calls at once: three goroutines, idle when the calls return.
	heldCalls(t, p, 3)()
	errs := make(chan error, 1)
	busy, inBusy := make(chan struct{}), make(chan struct{})
	endBusy := sync.OnceFunc(func() { close(busy) })
	defer endBusy() // before the stop, which waits for the busy goroutine
	go func() { errs <- p.run(func() error { close(inBusy); <-busy; return nil }) }()
	<-inBusy
	// A goroutine whose caller has its result may not be at its receive
	// yet (a busy machine): it is not idle until it is, and a retireIdle
	// before then misses it. Each retireIdle ends those idle at the time.
	testenv.WaitFor(t, "the idle goroutines to end, the busy one to stay", func() bool {
		p.retireIdle()
		return p.running.Load() == 1
	})
	endBusy()
	if err := <-errs; err != nil {
		t.Fatalf("the busy call: %v", err)
	}
	ran := false
	if err := p.run(func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("after retireIdle: run = %v, ran %v", err, ran)
	}
}

// A burst of calls starts as many goroutines; when it is over only maxIdle
// of them stay waiting for the next call (with their grown stacks), the
// rest end at once, not after deepIdle.
func TestDeepPoolKeepsAtMostMaxIdleGoroutinesWaiting(t *testing.T) {
	p := newDeepPool(2)
	p.idle = time.Hour // only the cap ends them
	defer p.stop()
	release := heldCalls(t, p, 5)
	if n := p.running.Load(); n != 5 {
		t.Fatalf("%d goroutines for 5 calls at once, want 5 (a call never waits for another)", n)
	}
	release()
	testenv.WaitFor(t, "all but 2 goroutines to end", func() bool { return p.running.Load() == 2 && p.waiting.Load() == 2 })
	// The pool serves on; a goroutine a call started beside the waiting
	// ones (one may not be at its receive yet) ends after it.
	for range 3 {
		if err := p.run(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, "2 goroutines waiting again, no more", func() bool { return p.running.Load() == 2 && p.waiting.Load() == 2 })
}

// heldCalls starts n calls on p that each wait for release, and returns
// once all n run; release lets them return and waits for their results.
func heldCalls(t *testing.T, p *deepPool, n int) (release func()) {
	t.Helper()
	hold := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() { errs <- p.run(func() error { started.Done(); <-hold; return nil }) }()
	}
	started.Wait()
	return func() {
		close(hold)
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
}
