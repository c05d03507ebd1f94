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
	idle    time.Duration // deepIdle; longer in tests that end goroutines otherwise
}

type deepCall struct {
	fn       func() error
	err      error
	panicked any
	done     chan struct{}
}

var deepCalls = sync.Pool{New: func() any { return &deepCall{done: make(chan struct{}, 1)} }}

func newDeepPool() *deepPool {
	p := &deepPool{calls: make(chan *deepCall), closing: make(chan struct{}), idle: deepIdle}
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
// deepIdle or the pool stops.
func (p *deepPool) serve(c *deepCall) {
	p.running.Add(1)
	defer p.wg.Done()
	defer p.running.Add(-1)
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		c.exec()
		idle.Reset(p.idle)
		select {
		case c = <-p.calls:
		case <-idle.C:
			return
		case <-*p.retire.Load():
			return
		case <-p.closing:
			return
		}
	}
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
