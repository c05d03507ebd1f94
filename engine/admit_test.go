package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// startGated is start with admission gates of the given sizes (admit.go):
// the defaults (200 steps) are larger than a unit test's mailboxes.
func startGated(t *testing.T, fx *fakeExchange, mailboxes []string, restoring, steps int, tweak func(*Options)) *harness {
	t.Helper()
	opts := testOptions(fx, memstore.New())
	opts.Budget.Concurrency = 20 // the budget would allow more requests than the gate admits workers
	if tweak != nil {
		tweak(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	e.restores = newAdmission(restoring, func(w *worker) *admitState { return &w.restoreSlot })
	e.admit = newAdmission(steps, func(w *worker) *admitState { return &w.stepSlot })
	e.env.restores, e.env.admit = e.restores, e.admit
	e.SetMailboxes(mailboxes)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, fx: fx, st: opts.Store, e: e, cancel: cancel, done: make(chan error, 1), opts: opts}
	go func() { h.done <- e.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

// startHeld starts n mailboxes with one item each behind gates of the
// given sizes, every CalendarView held by the returned viewGate.
func startHeld(t *testing.T, n, restoring, steps int) (*fakeExchange, []string, *viewGate, *harness) {
	fx := newFakeExchange()
	mbx := names(n)
	for _, m := range mbx {
		fx.put(m, occ("a-"+m, "A", 1))
	}
	g := newViewGate()
	fx.setFail(g.fail)
	return fx, mbx, g, startGated(t, fx, mbx, restoring, steps, nil)
}

// viewGate holds every CalendarView until released and records how many
// ran at once.
type viewGate struct {
	mu       sync.Mutex
	in, most int
	release  chan struct{}
}

func newViewGate() *viewGate { return &viewGate{release: make(chan struct{})} }

func (g *viewGate) fail(op, smtp string) error {
	if op != "CalendarView" {
		return nil
	}
	g.mu.Lock()
	g.in++
	g.most = max(g.most, g.in)
	g.mu.Unlock()
	<-g.release
	g.mu.Lock()
	g.in--
	g.mu.Unlock()
	return nil
}

func (g *viewGate) inside() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.in
}

func TestOnlyAdmittedWorkersRunAndQueuedOnesHaveNoGoroutine(t *testing.T) {
	fx, mbx, g, h := startHeld(t, 12, 2, 3)

	// Three workers read (the budget would let 20 go); the nine others
	// wait for a slot, parked: no goroutine runs them.
	testenv.WaitFor(t, "3 reads held and 9 workers queued", func() bool {
		return g.inside() == 3 && h.e.admit.waiting() == 9
	})
	if got := h.parked(); got != 9 {
		t.Errorf("parked workers while 3 read = %d, want the 9 queued ones", got)
	}
	close(g.release)
	for _, m := range mbx {
		h.waitState(m, StateLive)
	}
	if g.most != 3 {
		t.Errorf("reads at once = %d, want 3 (the step slots)", g.most)
	}
	// Live workers hold no slot: a notification's re-read gets one at once.
	testenv.WaitFor(t, "a stream with every mailbox", func() bool { return fx.streamWith(mbx...) })
	h.waitParked(len(mbx)) // the stream's first message re-verified them
	fx.put(mbx[5], occ("b", "B", 2))
	h.waitSubjects(mbx[5], "B")
	h.e.admit.mu.Lock()
	held := h.e.admit.held
	h.e.admit.mu.Unlock()
	if held > 1 {
		t.Errorf("slots held after the load = %d, want at most the one re-read", held)
	}
}

func TestFailingMailboxesDoNotHoldTheSlotsOfTheOthers(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(6)
	bad := map[string]bool{mbx[0]: true, mbx[1]: true} // the first in line
	for _, m := range mbx {
		fx.put(m, occ("a-"+m, "A", 1))
	}
	fx.setFail(func(op, smtp string) error {
		if op == "CalendarView" && bad[smtp] {
			return errors.New("ErrorInternalServerError: the mailbox's store is broken")
		}
		return nil
	})
	// Two slots, both first taken by mailboxes whose reads always fail:
	// their back-off waits without a slot, so the others load.
	h := startGated(t, fx, mbx, 1, 2, nil)
	for _, m := range mbx[2:] {
		h.waitState(m, StateLive)
	}
	for _, m := range mbx[:2] {
		if st, _ := h.e.Status(m); st.State == StateLive {
			t.Errorf("%s is live although every read of it fails", m)
		}
	}
}

func TestQueuedWorkersAnswerSyncsAndStop(t *testing.T) {
	fx, mbx, g, h := startHeld(t, 5, 1, 1)
	testenv.WaitFor(t, "one read held, the other workers queued", func() bool {
		return g.inside() == 1 && h.e.admit.waiting() == len(mbx)-1
	})
	// A manual sync of a queued worker waits for its turn and answers
	// from its read.
	synced := make(chan error, 1)
	go func() { synced <- h.e.SyncNow(context.Background(), mbx[4]) }()
	// A queued worker that is removed stops at once (its stop wakes it),
	// without a slot and without a read.
	h.e.Remove(mbx[3])
	if got := fx.countFor("CalendarView", mbx[3]); got != 0 {
		t.Errorf("CalendarView of the removed queued mailbox = %d, want 0", got)
	}
	if _, err := h.e.Status(mbx[3]); !errors.Is(err, ErrUnknownMailbox) {
		t.Errorf("status of the removed mailbox: %v, want ErrUnknownMailbox", err)
	}
	close(g.release)
	if err := <-synced; err != nil {
		t.Errorf("SyncNow of a queued worker = %v", err)
	}
	for _, m := range append(mbx[:3:3], mbx[4]) {
		h.waitState(m, StateLive)
	}
}

func TestStopEndsQueuedWorkers(t *testing.T) {
	fx := newFakeExchange()
	mbx := names(40)
	g := newViewGate()
	fx.setFail(g.fail)
	h := startGated(t, fx, mbx, 2, 2, nil)
	testenv.WaitFor(t, "two reads held, the rest queued", func() bool {
		return g.inside() == 2 && h.e.admit.waiting() == len(mbx)-2
	})
	cancel := h.cancel
	h.cancel = nil // stopped here, not by the cleanup
	cancel()
	// The stop wakes every queued worker, which retires without a slot,
	// while the two admitted ones still wait for their reads.
	testenv.WaitFor(t, "the 38 queued workers stopped", func() bool {
		return h.e.StateCounts()[StateStopped] == len(mbx)-2
	})
	if g.inside() != 2 {
		t.Fatalf("held reads = %d, want 2", g.inside())
	}
	close(g.release)
	if err := <-h.done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
}

// TestAdmissionIsFirstComeFirstServed: within a class (here all first
// loads) the gate admits in the order the workers asked.
func TestAdmissionIsFirstComeFirstServed(t *testing.T) {
	a := newAdmission(2, func(w *worker) *admitState { return &w.stepSlot })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws := make([]*worker, 6)
	for i := range ws {
		ws[i] = newWorker(ctx, cancel, &workerEnv{}, fmt.Sprint(i))
		ws[i].parked = false // running: a turn is a pending trigAdmit
	}
	var in []int
	for i, w := range ws {
		if a.enter(w) {
			in = append(in, i)
		}
	}
	if fmt.Sprint(in) != "[0 1]" || a.waiting() != 4 {
		t.Fatalf("admitted %v with %d waiting, want [0 1] and 4", in, a.waiting())
	}
	a.leave(ws[3]) // gave up its place (stopped)
	a.leave(ws[0])
	if ws[2].pending&trigAdmit == 0 || !a.enter(ws[2]) {
		t.Fatal("the first in line did not get the free slot")
	}
	a.leave(ws[1])
	if ws[3].pending&trigAdmit != 0 || ws[4].pending&trigAdmit == 0 || !a.enter(ws[4]) {
		t.Fatal("the slot went past the next in line or to a worker that left the queue")
	}
	if a.enter(ws[5]) || a.waiting() != 1 {
		t.Fatalf("the last worker was admitted past full slots (waiting %d)", a.waiting())
	}
}

// TestQueuedMailboxesAreNotShownDiscovering: a mailbox whose worker waits
// for a slot has not asked Autodiscover; its status says queued, and it
// says discovering only once the worker runs that step.
func TestQueuedMailboxesAreNotShownDiscovering(t *testing.T) {
	_, mbx, g, h := startHeld(t, 6, 1, 1)
	testenv.WaitFor(t, "one read held, the other workers queued", func() bool {
		return g.inside() == 1 && h.e.admit.waiting() == len(mbx)-1
	})
	counts := h.e.StateCounts()
	if counts[StateQueued] != len(mbx)-1 || counts[StateDiscovering] != 0 {
		t.Errorf("states while one mailbox reads and the others wait for a slot: %v, want %d queued and none discovering", counts, len(mbx)-1)
	}
	close(g.release)
	for _, m := range mbx {
		h.waitState(m, StateLive)
	}
}
