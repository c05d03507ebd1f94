package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// deepIdle is how long a deep-call goroutine waits for the next call
// before it ends: long enough to carry a load or a burst of re-reads on a
// few goroutines, short enough that an idle engine keeps none.
const deepIdle = 5 * time.Second

// deepPool runs the deep part of a worker's step — an EWS request with the
// decoding of its answer, a store commit — on goroutines shared by all
// workers, and waits for it.
//
// Why: a worker's own goroutine lives as long as its mailbox is synced and
// waits most of that time. When it ran its requests itself, its stack grew
// to what the HTTP client, the decoder and the store need, and the garbage
// collector shrank it again while the worker waited: every worker's stack
// was copied over and over during a load (runtime.copystack was a tenth of
// the load's CPU), and thousands of grown stacks were resident and scanned
// (8 KiB per mailbox). Here only as many goroutines as deep calls run at
// once (the budget bounds the requests, the store serialises commits)
// carry deep stacks; a worker's stack stays the size of its loop.
//
// A goroutine that finds no call for deepIdle ends, so an idle engine
// keeps none. A call is never queued behind another: with no idle
// goroutine a new one starts, so a deep call that waits for another (a
// request for its connection, a commit for the store's lock) cannot wait
// for one that has not started.
//
// At most maxIdle goroutines wait for a call (the budget's concurrency: the
// requests in flight, the one steady stream of deep calls); a goroutine
// that returns from a call while that many wait ends. Why: bursts of store
// calls (200 restores at once, a group commit's waiting writers) started
// up to 70 goroutines in a 1,000-mailbox load, and all of them stayed
// idle for deepIdle with their grown stacks — 1–2 MiB of the load's peak
// RSS, in some runs and not others (docs/BENCHMARKS.md "Memory at the
// load's peak, session 9"). A burst's goroutines now end with it; a new
// burst starts new ones, whose stacks grow again (a few microseconds per
// call, against the milliseconds of a request or a commit).
//
// At the end of a load the engine ends the idle goroutines at once
// (retireIdle, memrelease.go) instead of after deepIdle: their stacks grew
// to what the HTTP client, the decoders and bolt need (about 130 of them
// right after a load of 10,000 mailboxes, 8–32 KiB each), and a stack freed
// before the release's collection is returned to the system with the
// load's heap.
type deepPool struct {
	calls   chan *deepCall // unbuffered: a send succeeds only when a goroutine is idle
	mu      sync.Mutex
	quit    bool // set by stop: calls run on the caller's goroutine
	wg      sync.WaitGroup
	closing chan struct{} // closed by stop
	// retire is closed by retireIdle (and replaced by a new one): the
	// goroutines that wait for a call then end.
	retire  atomic.Pointer[chan struct{}]
	running atomic.Int32  // goroutines of the pool
	waiting atomic.Int32  // of them, waiting for a call
	maxIdle int32         // goroutines that may wait for a call
	idle    time.Duration // deepIdle; longer in tests that end goroutines otherwise
}

type deepCall struct {
	fn       func() error
	err      error
	panicked any
	done     chan struct{}
}

var deepCalls = sync.Pool{New: func() any { return &deepCall{done: make(chan struct{}, 1)} }}

// newDeepPool returns a pool that keeps at most maxIdle goroutines (at
// least 1) waiting for calls.
func newDeepPool(maxIdle int) *deepPool {
	p := &deepPool{calls: make(chan *deepCall), closing: make(chan struct{}), idle: deepIdle, maxIdle: int32(max(maxIdle, 1))}
	retire := make(chan struct{})
	p.retire.Store(&retire)
	return p
}

// retireIdle ends the goroutines that wait for a call now; a goroutine
// busy with a call stays (for deepIdle after it), and a later call starts a
// new one.
func (p *deepPool) retireIdle() {
	if p == nil {
		return
	}
	next := make(chan struct{})
	close(*p.retire.Swap(&next))
}

// run calls fn on a pooled goroutine and returns its result; a panic in fn
// is raised again on the caller's goroutine (a worker recovers its own).
func (p *deepPool) run(fn func() error) error {
	if p == nil {
		return fn()
	}
	c := deepCalls.Get().(*deepCall)
	c.fn = fn
	select {
	case p.calls <- c:
	default:
		p.mu.Lock()
		if p.quit {
			p.mu.Unlock()
			deepCalls.Put(c)
			return fn()
		}
		p.wg.Add(1)
		go p.serve(c)
		p.mu.Unlock()
	}
	<-c.done
	err, panicked := c.err, c.panicked
	*c = deepCall{done: c.done}
	deepCalls.Put(c)
	if panicked != nil {
		panic(panicked)
	}
	return err
}

// serve runs c and then the calls handed to it until it has been idle for
// deepIdle, maxIdle others wait already, or the pool stops.
func (p *deepPool) serve(c *deepCall) {
	p.running.Add(1)
	defer p.wg.Done()
	defer p.running.Add(-1)
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		c.exec()
		if !p.await() {
			return
		}
		idle.Reset(p.idle)
		select {
		case c = <-p.calls:
			p.waiting.Add(-1)
		case <-idle.C:
			p.waiting.Add(-1)
			return
		case <-*p.retire.Load():
			p.waiting.Add(-1)
			return
		case <-p.closing:
			p.waiting.Add(-1)
			return
		}
	}
}

// await reports whether a goroutine done with its call may wait for the
// next one (then it counts as waiting): false when maxIdle wait already.
func (p *deepPool) await() bool {
	if p.waiting.Add(1) > p.maxIdle {
		p.waiting.Add(-1)
		return false
	}
	return true
}

func (c *deepCall) exec() {
	defer func() {
		if r := recover(); r != nil {
			c.panicked = r
		}
		c.done <- struct{}{}
	}()
	c.err = c.fn()
}

// stop ends the idle goroutines and waits for them; calls made afterwards
// run on the caller's goroutine.
func (p *deepPool) stop() {
	p.mu.Lock()
	if !p.quit {
		p.quit = true
		close(p.closing)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
