package engine

import "sync"

// Admission: only so many workers run at once; the others wait in a queue
// without a goroutine.
//
// Why: a worker with work to do (a first load, a re-read) waits most of
// that time for the budget, whose limit is 10 requests in flight or fewer.
// At the start of 1,000 mailboxes about 700 workers sat in the budget's
// queue, each on a goroutine with a stack of several KiB (7 MiB of a 48 MiB
// peak, docs/BENCHMARKS.md "Memory"), and at 50,000 mailboxes all 50,000
// did. A queued worker here is only its struct, as a parked live worker is
// (park.go): the queue holds it, its stop wakes it (to retire), and the
// gate starts it again when a slot is free. Workers are admitted in the
// order they asked, as the budget serves requests, so the order of a load
// is kept — within each of two classes (below).
//
// Precedence: a worker that was live before (a notification's read, a
// pull poll, a reconciliation, the recovery after a failure) goes before
// the first loads and restores waiting at the same gate. First come, first
// served, a live mailbox's change waited behind every first load queued
// before it: at a start of 50,000 mailboxes or a cluster's takeover, the
// survivors' own changes waited minutes. The loads are not starved: while
// both classes wait, every admitLoadEvery-th slot goes to a load, so they
// keep at least that share of the grants (and more of the slot time, as a
// load holds its slot for several steps and a live step for one).
//
// Two gates, one after the other:
//   - restoring (Engine.restores): reading the mailbox's stored checkpoint
//     when the worker starts. It only reads the store, so its slots turn
//     over fast and every first load of a start joins its zone batch
//     (zonebatch.go) within moments, as when all workers started at once:
//     batches of 100 go out full. It has 200 slots (restoreSlots): with
//     PostgreSQL a read takes milliseconds, and 8 slots spread the joins
//     so thin that a cluster's cold start sent a zone batch per 2
//     mailboxes (app TestClusterColdStartPlacesEachMailboxOnce).
//   - steps (Engine.admit): the rest, from the first step until the worker
//     has nothing left to do (it is live and parks), a step failed (its
//     back-off waits without a slot, so that failing mailboxes cannot hold
//     every slot while the others wait) or it stops. Every wait inside a
//     step is bounded (requests have timeouts, an anchor's subscription is
//     awaited for holdMax, batches leave on a timer), so slots come free.
//     Its slots (admitSlotsFor) keep every request slot of the budget busy
//     while admitted workers commit, parse or wait for a batch.
//     Autodiscover's batches (90 mailboxes) gather at the restoring gate
//     (discover.go), like the zone batches.
const (
	restoreSlots = 200
	// admitLoadEvery: while both classes wait, one grant in this many
	// goes to a first load (the rest to live workers).
	admitLoadEvery = 4
)

// admitSlotsFor is the number of step slots for a budget of concurrency
// requests in flight: 40 at the default 10. 4 per request in flight keep
// every request slot of the budget busy while the admitted workers wait for
// their Autodiscover answer (asked when they restored, discover.go), parse
// and commit; nearly all of the others wait at the budget's semaphore.
//
// Not more: every admitted worker has a goroutine whose stack grows with
// the HTTP client, the decoders and the store, and its load's buffers. 200
// slots (session 7) added about 2 MiB at the 1,000-mailbox peak against
// 100, and 100 — then needed to gather a full Autodiscover batch of first
// steps, before the lookups were queued at restore — held about 40
// goroutines and 0.5 MiB more at that peak than 40, with no faster load at
// 1,000 or 10,000 (docs/BENCHMARKS.md "Step slots from the budget" and
// "Memory at the load's peak, session 9"). The zone and Autodiscover
// batches gather at the restoring gate and do not depend on it.
func admitSlotsFor(concurrency int) int {
	return 4 * concurrency
}

// admitState is a worker's place at the gate, guarded by admission.mu.
type admitState uint8

const (
	admitNone admitState = iota
	admitQueued
	admitHeld
)

// admission is the gate. Safe for concurrent use; admission.mu is a leaf
// lock (taken with no other lock held, nothing taken under it).
type admission struct {
	mu    sync.Mutex
	limit int
	// state is the worker's place at this gate (a field of its own per
	// gate, guarded by mu).
	state func(*worker) *admitState
	held  int
	// live holds the queued workers that were live before, loads the
	// others (first loads, restores); see Precedence above.
	live, loads admitQueue
	// liveRun counts the grants to live workers in a row while loads
	// waited.
	liveRun int
}

// admitQueue is first in, first out from head. An entry whose worker left
// the queue (stopped) or was admitted through an earlier entry is skipped
// when it comes up: removal would be a scan per stop.
type admitQueue struct {
	q    []*worker
	head int
}

func (q *admitQueue) empty() bool { return q.head == len(q.q) }

func (q *admitQueue) push(w *worker) { q.q = append(q.q, w) }

// pop takes the next entry; the queue must not be empty.
func (q *admitQueue) pop() *worker {
	v := q.q[q.head]
	q.q[q.head] = nil
	q.head++
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	} else if q.head > 1024 && q.head > len(q.q)/2 {
		q.q, q.head = append(q.q[:0], q.q[q.head:]...), 0
	}
	return v
}

func newAdmission(limit int, state func(*worker) *admitState) *admission {
	return &admission{limit: max(limit, 1), state: state}
}

// enter reports whether w holds a slot, taking one if it is free and no
// worker waits; otherwise w is queued (once) in its class and trigAdmit
// wakes it when its turn comes. Called by the goroutine that runs w (or
// before one does), which owns w.wasLive.
func (a *admission) enter(w *worker) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.state(w)
	switch {
	case *st == admitHeld:
		return true
	case a.held < a.limit && a.live.empty() && a.loads.empty():
		*st = admitHeld
		a.held++
		return true
	case *st == admitNone:
		*st = admitQueued
		if w.wasLive {
			a.live.push(w)
		} else {
			a.loads.push(w)
		}
	}
	return false
}

// leave gives up w's slot or its place in the queue, and admits the
// workers that now fit.
func (a *admission) leave(w *worker) {
	a.mu.Lock()
	st := a.state(w)
	if *st == admitHeld {
		a.held--
	}
	*st = admitNone
	admitted := a.grantLocked()
	a.mu.Unlock()
	for _, v := range admitted {
		v.notify(trigAdmit)
	}
}

// grantLocked admits queued workers while slots are free, live workers
// first but every admitLoadEvery-th grant to a load while loads wait.
func (a *admission) grantLocked() []*worker {
	var out []*worker
	for a.held < a.limit {
		fromLive := !a.live.empty() && (a.loads.empty() || a.liveRun < admitLoadEvery-1)
		var v *worker
		switch {
		case fromLive:
			v = a.live.pop()
		case !a.loads.empty():
			v = a.loads.pop()
		default:
			return out
		}
		st := a.state(v)
		if *st != admitQueued {
			continue
		}
		switch {
		case !fromLive || a.loads.empty():
			a.liveRun = 0
		default:
			a.liveRun++
		}
		*st = admitHeld
		a.held++
		out = append(out, v)
	}
	return out
}

// waiting reports how many workers wait for a slot (tests, metrics).
func (a *admission) waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, q := range []*admitQueue{&a.live, &a.loads} {
		for _, v := range q.q[q.head:] {
			if *a.state(v) == admitQueued {
				n++
			}
		}
	}
	return n
}
