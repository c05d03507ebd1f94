// Package engine keeps the calendars of many Exchange mailboxes current.
//
// One supervisor (Engine) runs one worker goroutine per mailbox. Each worker
// walks an explicit state machine — discovering → subscribing → loading →
// live, with resyncing, backoff, denied and stopped — and is the single
// writer of its mailbox in the store. Notifications (streaming connections
// grouped by affinity, or pull loops) are hints: a worker coalesces them and
// re-reads its rolling window with CalendarView, then commits occurrences and
// checkpoint atomically. A budget limiter bounds concurrency overall, per
// server and per user and honours Exchange's back-off hints.
//
// Lock order: Engine.mu, streamManager.mu and budget.mu are never held
// together; worker.mu is a leaf lock taken last.
//
// See docs/engine.md for the state diagram, grouping, budget and the
// recovery table.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// Worker states, as reported in store.MailboxStatus.State.
const (
	StateDiscovering = "discovering"
	StateSubscribing = "subscribing"
	StateLoading     = "loading"
	StateLive        = "live"
	StateResyncing   = "resyncing"
	StateBackoff     = "backoff"
	StateDenied      = "denied"
	StateStopped     = "stopped"
)

// ErrUnknownMailbox is returned by SyncNow and Status for a mailbox the
// engine does not sync.
var ErrUnknownMailbox = errors.New("engine: unknown mailbox")

// ErrNotRunning is returned by SyncNow when the engine is not running.
var ErrNotRunning = errors.New("engine: not running")

// Engine is the sync supervisor. Create it with New, start it with Run.
// All methods are safe for concurrent use.
type Engine struct {
	opts    Options
	log     *slog.Logger
	clk     clock.Clock
	ex      Exchange
	st      store.Store
	sink    Sink
	metrics *metrics
	budget  *budget
	// failureLog summarises failures that hit many mailboxes at once.
	failureLog *failureLog
	disco      *discoverer
	streams    *streamManager

	rngMu sync.Mutex
	rng   *rand.Rand

	mu       sync.Mutex
	wanted   map[string]bool
	workers  map[string]*worker
	retiring map[string]*worker // stopped workers still finishing
	status   map[string]store.MailboxStatus
	runCtx   context.Context
	running  bool
	stopping bool
	wg       sync.WaitGroup
}

// New validates opts and returns an engine that is not yet running.
func New(opts Options) (*Engine, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("engine: register metrics: %w", err)
	}
	seed := uint64(opts.Seed)
	if opts.Seed == 0 {
		seed = rand.Uint64()
	}
	e := &Engine{
		opts:     opts,
		log:      opts.Logger,
		clk:      opts.Clock,
		ex:       opts.Exchange,
		st:       opts.Store,
		sink:     opts.Sink,
		metrics:  m,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wanted:   map[string]bool{},
		workers:  map[string]*worker{},
		retiring: map[string]*worker{},
		status:   map[string]store.MailboxStatus{},
	}
	e.budget = newBudget(e.clk, opts.Budget, m, e.log)
	e.failureLog = newFailureLog(e)
	e.disco = newDiscoverer(e)
	e.streams = newStreamManager(e)
	return e, nil
}

// normalize canonicalises an SMTP address.
func normalize(smtp string) string { return strings.ToLower(strings.TrimSpace(smtp)) }

// SetMailboxes replaces the set of synced mailboxes. Workers of removed
// mailboxes are stopped (their subscriptions ended); new ones are started.
// It may be called before or during Run.
func (e *Engine) SetMailboxes(smtps []string) {
	want := map[string]bool{}
	for _, s := range smtps {
		if s = normalize(s); s != "" {
			want[s] = true
		}
	}
	e.mu.Lock()
	var stop []*worker
	for s := range e.wanted {
		if !want[s] {
			if w := e.workers[s]; w != nil {
				stop = append(stop, w)
				delete(e.workers, s)
				e.retiring[s] = w
			}
			e.dropStatusLocked(s)
		}
	}
	e.wanted = want
	if e.running && !e.stopping {
		for s := range want {
			if e.workers[s] == nil {
				e.startWorkerLocked(s)
			}
		}
	}
	e.mu.Unlock()
	// Cancel all first, then wait: removals finish in parallel.
	for _, w := range stop {
		w.markRemoved()
		w.cancel()
	}
	for _, w := range stop {
		<-w.done
	}
}

// Add starts syncing one mailbox.
func (e *Engine) Add(smtp string) {
	smtp = normalize(smtp)
	e.mu.Lock()
	defer e.mu.Unlock()
	if smtp == "" || e.wanted[smtp] {
		return
	}
	e.wanted[smtp] = true
	if e.running && !e.stopping {
		e.startWorkerLocked(smtp)
	}
}

// Remove stops syncing one mailbox and ends its subscription.
func (e *Engine) Remove(smtp string) {
	smtp = normalize(smtp)
	e.mu.Lock()
	delete(e.wanted, smtp)
	w := e.workers[smtp]
	delete(e.workers, smtp)
	e.dropStatusLocked(smtp)
	if w != nil {
		e.retiring[smtp] = w
	}
	e.mu.Unlock()
	if w != nil {
		w.stop(true)
	}
}

// Run starts a worker for every mailbox and blocks until ctx ends; then it
// stops every worker, waits for them and returns. In-flight commits finish,
// so the store stays consistent. Run may be called once.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running || e.stopping {
		e.mu.Unlock()
		return fmt.Errorf("engine: Run called twice")
	}
	e.running = true
	e.runCtx = ctx
	e.spawnLocked("discoverer", func() { e.disco.run(ctx) })
	names := make([]string, 0, len(e.wanted))
	for s := range e.wanted {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, s := range names {
		e.startWorkerLocked(s)
	}
	e.mu.Unlock()
	e.log.Info("engine started", "mailboxes", len(names), "mode", e.opts.Mode)

	<-ctx.Done()

	e.mu.Lock()
	e.stopping = true
	ws := make([]*worker, 0, len(e.workers))
	for _, w := range e.workers {
		ws = append(ws, w)
	}
	for _, w := range e.retiring {
		ws = append(ws, w)
	}
	e.mu.Unlock()
	for _, w := range ws {
		w.cancel()
	}
	for _, w := range ws {
		<-w.done
	}
	e.streams.stopAll()
	e.wg.Wait()
	e.log.Info("engine stopped")
	return nil
}

// spawnLocked starts a supervised goroutine; the only place the engine
// starts goroutines. A panic is logged and swallowed (workers restart
// themselves, see worker.loop). e.mu must be held.
func (e *Engine) spawnLocked(name string, fn func()) bool {
	if e.stopping {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				e.log.Error("engine goroutine panicked", "name", name, "panic", r, "stack", string(debug.Stack()))
			}
		}()
		fn()
	}()
	return true
}

// spawn is spawnLocked for callers that do not hold e.mu.
func (e *Engine) spawn(name string, fn func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.spawnLocked(name, fn)
}

func (e *Engine) startWorkerLocked(smtp string) {
	ctx, cancel := context.WithCancel(e.runCtx)
	w := newWorker(e, smtp, ctx, cancel)
	// A worker of the same mailbox that is still stopping finishes first,
	// so that each mailbox keeps a single writer.
	w.prev = e.retiring[smtp]
	_, known := e.status[smtp]
	// A new status is reported by the worker itself, so that the sink
	// hears of a mailbox's changes from one goroutine, in order.
	w.announce = !known
	if !e.spawnLocked("worker "+smtp, w.loop) {
		cancel()
		return
	}
	e.workers[smtp] = w
	if !known {
		e.status[smtp] = store.MailboxStatus{SMTP: smtp, State: StateDiscovering}
		e.metrics.states.WithLabelValues(StateDiscovering).Inc()
	}
}

func (e *Engine) worker(smtp string) *worker {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.workers[smtp]
}

// Status returns the live status of one mailbox.
func (e *Engine) Status(smtp string) (store.MailboxStatus, error) {
	smtp = normalize(smtp)
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.status[smtp]
	if !ok {
		return store.MailboxStatus{}, fmt.Errorf("%w: %s", ErrUnknownMailbox, smtp)
	}
	return copyStatus(st), nil
}

// Statuses returns the live status of every synced mailbox, sorted by address.
func (e *Engine) Statuses() []store.MailboxStatus {
	e.mu.Lock()
	out := make([]store.MailboxStatus, 0, len(e.status))
	for _, st := range e.status {
		out = append(out, copyStatus(st))
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b store.MailboxStatus) int { return strings.Compare(a.SMTP, b.SMTP) })
	return out
}

// StateCounts returns how many mailboxes are in each state.
func (e *Engine) StateCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for _, st := range e.status {
		out[st.State]++
	}
	return out
}

func copyStatus(st store.MailboxStatus) store.MailboxStatus {
	if st.LastError != nil {
		le := *st.LastError
		st.LastError = &le
	}
	return st
}

// updateStatus applies fn to a mailbox's live status and returns the
// result. A change of state or error code goes to the sink; only the
// mailbox's worker makes such changes (others touch counters), which keeps
// the sink's reports of one mailbox in order.
func (e *Engine) updateStatus(smtp string, fn func(*store.MailboxStatus)) (store.MailboxStatus, bool) {
	e.mu.Lock()
	if !e.wanted[smtp] {
		e.mu.Unlock()
		return store.MailboxStatus{}, false
	}
	st := e.status[smtp]
	st.SMTP = smtp
	old := st
	fn(&st)
	e.status[smtp] = st
	if old.State != st.State {
		if old.State != "" {
			e.metrics.states.WithLabelValues(old.State).Dec()
		}
		e.metrics.states.WithLabelValues(st.State).Inc()
	}
	st = copyStatus(st)
	e.mu.Unlock()
	if keyOf(old) != keyOf(st) {
		e.sink.StatusChanged(st)
	}
	return st, true
}

func (e *Engine) dropStatusLocked(smtp string) {
	if st, ok := e.status[smtp]; ok {
		e.metrics.states.WithLabelValues(st.State).Dec()
		delete(e.status, smtp)
	}
}

// SyncNow asks a mailbox's worker to re-read its window now and waits for
// the result (a request/reply trigger). The answer comes from a read that
// began after the call, so it covers every change made before it.
func (e *Engine) SyncNow(ctx context.Context, smtp string) error {
	smtp = normalize(smtp)
	e.mu.Lock()
	running := e.running && !e.stopping
	w := e.workers[smtp]
	e.mu.Unlock()
	if !running {
		return ErrNotRunning
	}
	if w == nil {
		return fmt.Errorf("%w: %s", ErrUnknownMailbox, smtp)
	}
	reply := make(chan error, 1)
	w.requestSync(reply)
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return fmt.Errorf("engine: mailbox %s stopped", smtp)
	}
}

// Groups returns the streaming groups and their connections (empty in pull mode).
func (e *Engine) Groups() []GroupStatus { return e.streams.summary() }

// jitter returns a duration uniformly drawn from [d*(1-frac), d].
func (e *Engine) jitter(d time.Duration, frac float64) time.Duration {
	if d <= 0 {
		return 0
	}
	e.rngMu.Lock()
	f := e.rng.Float64()
	e.rngMu.Unlock()
	return d - time.Duration(float64(d)*frac*f)
}

// backoffDelay is exponential back-off with jitter for the n-th failure.
func (e *Engine) backoffDelay(n int) time.Duration {
	return e.jitter(expBackoff(e.opts.RetryBase, e.opts.RetryMax, n), 0.5)
}

// expBackoff returns base·2^(n-1), capped at limit.
func expBackoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// call runs one EWS request for mailbox smtp within the budget.
func (e *Engine) call(ctx context.Context, smtp, server string, fn func(context.Context) error) error {
	err := e.budget.do(ctx, smtp, server, e.opts.CallTimeout, fn)
	if err != nil && ctx.Err() == nil {
		e.metrics.errors.WithLabelValues(ErrorCode(err)).Inc()
	}
	return err
}

// runCtxDone returns the context of the running engine.
func (e *Engine) runCtxDone() context.Context {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.runCtx == nil {
		return context.Background()
	}
	return e.runCtx
}
