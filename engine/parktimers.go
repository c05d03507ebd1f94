package engine

import (
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// parkTimers wakes parked workers at their due times with one clock timer
// for all of them: a heap of the parked workers that have a due time, and
// one timer armed for the earliest.
//
// Why not a runtime timer per worker (as before session 10): 10,000 parked
// workers kept 10,000 timers (and their functions) in the Go runtime's
// per-P timer heaps. The runtime removes a stopped timer from such a heap
// only when it reaches the top or when stopped timers are more than a
// quarter of the heap, and until then the stopped timer keeps what its
// function references alive. Each request's context.WithTimeout stops its
// timer when the request ends: with 10,000 long timers in the heaps, up to
// 2,500 of those stopped timers stayed, and about 700–1,800 request
// contexts with their timers and Done channels were still live after the
// load, spread over spans of the load's garbage (docs/BENCHMARKS.md,
// "Partly used spans after the load (session 10)"). One timer leaves the
// runtime's heaps small, so the stopped timers go at once.
type parkTimers struct {
	clk clock.Clock

	mu sync.Mutex
	// due is a min-heap of the workers by parkAt; a worker's parkIdx is
	// its index, -1 when it is not in the heap.
	due []*worker
	// timer fires at armedAt (zero: not armed) for due[0], or earlier.
	timer   clock.Timer
	armedAt time.Time
	// reset: timer can be armed again after it fired (a clock.FuncClock's);
	// otherwise each arming makes a new one (clock.AfterFunc).
	reset bool
}

func newParkTimers(clk clock.Clock) *parkTimers {
	_, reset := clk.(clock.FuncClock)
	return &parkTimers{clk: clk, reset: reset}
}

// arm makes the timer wake w at at (replacing its earlier due time).
func (p *parkTimers) arm(w *worker, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w.parkAt = at
	if w.parkIdx >= 0 {
		p.fix(w.parkIdx)
	} else {
		w.parkIdx = len(p.due)
		p.due = append(p.due, w)
		p.up(w.parkIdx)
	}
	p.rearmLocked()
}

// stop takes w out of the heap; its due time no longer wakes it.
func (p *parkTimers) stop(w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := w.parkIdx
	if i < 0 {
		return
	}
	last := len(p.due) - 1
	p.swap(i, last)
	p.due[last] = nil
	p.due = p.due[:last]
	w.parkIdx = -1
	if i < last {
		p.fix(i)
	}
	p.rearmLocked()
}

// fire runs when the timer fires: it wakes every worker that is due and
// arms the timer for the next.
func (p *parkTimers) fire() {
	p.mu.Lock()
	p.armedAt = time.Time{}
	now := p.clk.Now()
	var woken []*worker
	for len(p.due) > 0 && !p.due[0].parkAt.After(now) {
		w := p.due[0]
		last := len(p.due) - 1
		p.swap(0, last)
		p.due[last] = nil
		p.due = p.due[:last]
		w.parkIdx = -1
		p.down(0)
		woken = append(woken, w)
	}
	p.rearmLocked()
	p.mu.Unlock()
	// Outside the lock: a woken worker resumes on a new goroutine, which
	// may park and arm again at once.
	for _, w := range woken {
		w.notify(trigTimer)
	}
}

// rearmLocked arms the timer for the earliest due time, or stops it when
// no worker waits for one (a fake clock's pending timers then count only
// the timers that will wake something).
func (p *parkTimers) rearmLocked() {
	if len(p.due) == 0 {
		if !p.armedAt.IsZero() {
			p.timer.Stop()
			p.armedAt = time.Time{}
		}
		return
	}
	at := p.due[0].parkAt
	if at.Equal(p.armedAt) {
		return
	}
	d := at.Sub(p.clk.Now())
	p.armedAt = at
	switch {
	case p.timer == nil:
		p.timer = clock.AfterFunc(p.clk, d, p.fire)
	case p.reset:
		p.timer.Reset(d)
	default:
		p.timer.Stop()
		p.timer = clock.AfterFunc(p.clk, d, p.fire)
	}
}

func (p *parkTimers) less(i, j int) bool { return p.due[i].parkAt.Before(p.due[j].parkAt) }

func (p *parkTimers) swap(i, j int) {
	p.due[i], p.due[j] = p.due[j], p.due[i]
	p.due[i].parkIdx = i
	p.due[j].parkIdx = j
}

func (p *parkTimers) fix(i int) {
	if !p.down(i) {
		p.up(i)
	}
}

func (p *parkTimers) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !p.less(i, parent) {
			return
		}
		p.swap(i, parent)
		i = parent
	}
}

// down moves due[i] down to its place; it reports whether it moved.
func (p *parkTimers) down(i int) bool {
	start, n := i, len(p.due)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && p.less(r, l) {
			c = r
		}
		if !p.less(c, i) {
			break
		}
		p.swap(i, c)
		i = c
	}
	return i > start
}
