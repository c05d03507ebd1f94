// Package engine keeps the calendars of many Exchange mailboxes current.
//
// One supervisor (Engine) runs one worker per mailbox, on a goroutine while
// it has work (a live worker that waits is parked, park.go). Each worker
// walks an explicit state machine — discovering → subscribing → loading →
// live, with resyncing, backoff, denied and stopped — and is the single
// writer of its mailbox in the store. Notifications (streaming connections
// grouped by affinity, or pull loops) are hints: a worker coalesces them and
// re-reads its rolling window with CalendarView, then commits occurrences and
// checkpoint atomically. A budget limiter bounds concurrency overall, per
// server and per user and honours Exchange's back-off hints.
//
// Lock order: Engine.mu, streamManager.mu and budget.mu are never held
// together; worker.mu and statusTable.mu are leaf locks taken last.
//
// Workers get their dependencies explicitly (workerEnv) and never reach
// back into the Engine; the supervisor owns the set of workers and their
// retirement.
//
// See docs/engine.md for the state diagram, grouping, budget and the
// recovery table.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// Worker states, as reported in store.MailboxStatus.State.
const (
	// StateWaiting: the mailbox's next request waits behind the credential
	// gate (Exchange rejected the service account; see ExchangeHealth).
	StateWaiting = "waiting"
	// StateQueued: the mailbox's worker has not run its first step yet; it
	// waits for a slot at the admission gate (admit.go). A start of many
	// mailboxes shows most of them queued, not discovering.
	StateQueued      = "queued"
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
	random     *jitterSource
	statuses   *statusTable
	// deep runs the workers' requests and commits (deeppool.go).
	deep *deepPool
	// env is what every worker gets (see workerEnv).
	env *workerEnv
	// loads releases a load's transient memory at its end (memrelease.go).
	loads *loadTracker
	// restores and admit bound the workers that restore and run steps at
	// once (admit.go).
	restores, admit *admission

	mu       sync.Mutex
	wanted   map[string]bool
	workers  map[string]*worker
	retiring map[string]*worker // stopped workers still finishing
	// stopped are the final statuses of the workers retired while the
	// engine stops, stored together once all ended (stop.go).
	stopped  []store.MailboxStatus
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
	e := &Engine{
		opts:     opts,
		log:      opts.Logger,
		clk:      opts.Clock,
		ex:       opts.Exchange,
		st:       opts.Store,
		sink:     opts.Sink,
		metrics:  m,
		random:   newJitterSource(opts.Seed),
		statuses: newStatusTable(m, opts.Sink),
		deep:     newDeepPool(opts.Budget.Concurrency),
		restores: newAdmission(restoreSlots, func(w *worker) *admitState { return &w.restoreSlot }),
		admit:    newAdmission(admitSlotsFor(opts.Budget.Concurrency), func(w *worker) *admitState { return &w.stepSlot }),
		wanted:   map[string]bool{},
		workers:  map[string]*worker{},
		retiring: map[string]*worker{},
	}
	e.loads = newLoadTracker(opts.Store, e.deep)
	e.budget = newBudget(e.clk, opts.Budget, m, e.log)
	if err := registerExchangeHealth(opts.Registerer, e.ExchangeHealth); err != nil {
		return nil, fmt.Errorf("engine: register metrics: %w", err)
	}
	e.failureLog = newFailureLog(e)
	e.disco = newDiscoverer(e)
	e.streams = newStreamManager(e)
	e.env = &workerEnv{
		opts: &e.opts, clk: e.clk, log: e.log, ex: e.ex, st: deepStore{e.st, e.deep}, sink: e.sink,
		metrics: m, budget: e.budget, random: e.random, status: e.statuses,
		groups: e.streams, disco: e.disco, failures: e.failureLog, tipsPolled: &atomic.Bool{},
		zones:    newZoneBatcher(e),
		deep:     e.deep,
		loads:    e.loads,
		restores: e.restores,
		admit:    e.admit,
		parks:    newParkTimers(e.clk),
	}
	e.env.resume = e.resumeWorker
	return e, nil
}

// normalize canonicalises an SMTP address.
func normalize(smtp string) string { return strings.ToLower(strings.TrimSpace(smtp)) }

// SetMailboxes replaces the set of synced mailboxes. Workers of removed
// mailboxes are stopped (their subscriptions ended); new ones are started.
// It may be called before or during Run.
func (e *Engine) SetMailboxes(smtps []string) {
	want := make(map[string]bool, len(smtps))
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
			e.statuses.drop(s)
		}
	}
	e.wanted = want
	if e.running && !e.stopping {
		e.reserveLocked(len(want))
		var added []string
		for s := range want {
			if e.workers[s] == nil {
				added = append(added, s)
			}
		}
		e.startWorkersLocked(added)
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

// reserveLocked sizes the worker and status maps for n mailboxes when they
// are empty (a start, or the first SetMailboxes of a run): grown one mailbox at a time,
// each map of 10,000 entries left its split tables' spans partly used
// after the load (docs/BENCHMARKS.md, "issue 16, session 9").
func (e *Engine) reserveLocked(n int) {
	if len(e.workers) == 0 {
		e.workers = make(map[string]*worker, n)
	}
	e.statuses.reserve(n)
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
	e.statuses.drop(smtp)
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
	if z := e.env.zones; z != nil {
		e.spawnLocked("zone batcher", func() { z.run(ctx) })
	}
	if p := newOOFPoller(e); p != nil {
		e.spawnLocked("oof poller", func() { p.run(ctx) })
	}
	e.spawnLocked("memory releaser", func() { e.loads.run(ctx.Done()) })
	names := make([]string, 0, len(e.wanted))
	for s := range e.wanted {
		names = append(names, s)
	}
	slices.Sort(names)
	e.reserveLocked(len(names))
	e.startWorkersLocked(names)
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
	e.saveStopped()
	e.streams.stopAll()
	e.wg.Wait()
	e.deep.stop()
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
	if w := e.newWorkerLocked(smtp); w != nil {
		e.admitWorkerLocked(w)
	}
}

// startWorkersLocked starts a worker for each of smtps: all of them are
// made before the first is admitted.
//
// Why: what a worker keeps for its life (its struct, context, channels,
// stop registration) is made here. Admitted as each was made, the first
// 200 restored (admit.go) while the others were made, and their garbage
// took turns with the new workers' objects in the same spans: after the
// load, those spans stayed in use for the workers' objects with the
// garbage's slots empty (docs/BENCHMARKS.md, "Partly used spans after the
// load (session 10)"). Made before any of them runs, they lie together.
func (e *Engine) startWorkersLocked(smtps []string) {
	ws := make([]*worker, 0, len(smtps))
	for _, s := range smtps {
		if w := e.newWorkerLocked(s); w != nil {
			ws = append(ws, w)
		}
	}
	for _, w := range ws {
		e.admitWorkerLocked(w)
	}
}

// newWorkerLocked makes the mailbox's worker and registers it, parked,
// without a goroutine; nil when the engine stops.
func (e *Engine) newWorkerLocked(smtp string) *worker {
	ctx, cancel := context.WithCancel(e.runCtx)
	w := newWorker(ctx, cancel, e.env, smtp)
	// A worker of the same mailbox that is still stopping finishes first,
	// so that each mailbox keeps a single writer.
	w.prev = e.retiring[smtp]
	// A new status is reported by the worker itself, so that the sink
	// hears of a mailbox's changes from one goroutine, in order.
	w.announce = e.statuses.create(smtp)
	e.loads.started()
	if e.stopping {
		e.loads.ended(false)
		cancel()
		if w.announce {
			e.statuses.drop(smtp)
		}
		return nil
	}
	e.workers[smtp] = w
	// A worker that must wait for a slot starts without a goroutine, as
	// if it had parked in the admission queue (admit.go): its turn, a
	// trigger or its stop runs it (and it announces its status then).
	// Parked is set before the gate can see it, so that its turn coming
	// at once finds it parked and resumes it. From armStopWake on, a stop
	// may already run the worker on another goroutine.
	w.parked = true
	w.armStopWake()
	return w
}

// admitWorkerLocked queues a new worker at the restoring gate, or runs it
// if a slot is free.
func (e *Engine) admitWorkerLocked(w *worker) {
	if !e.restores.enter(w) {
		return
	}
	w.mu.Lock()
	resume := w.takeParked()
	w.mu.Unlock()
	if resume {
		e.spawnLocked("worker "+w.smtp, func() { e.runWorker(w) })
	}
}

// runWorker is a worker's goroutine: the worker syncs until it is stopped,
// then the supervisor retires it, and only then may a successor of the
// same mailbox start (done closes last). A worker that parks ends its
// goroutine here and comes back through resumeWorker (park.go).
func (e *Engine) runWorker(w *worker) {
	parked := false
	defer func() {
		if !parked {
			close(w.done)
		}
	}()
	if parked = w.loop(); parked {
		return
	}
	e.retireAndFinish(w)
}

// resumeWorker runs a parked worker again on a new goroutine; the caller
// took it out of parking (worker.takeParked), so no other goroutine runs
// it. Unlike spawn it also starts while the engine stops: a parked worker
// must run to leave its groups and be retired. Run waits for every
// worker's done before it waits for e.wg, and a parked worker's done is
// still open, so this Add comes before that Wait.
func (e *Engine) resumeWorker(w *worker) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				e.log.Error("engine goroutine panicked", "name", "worker "+w.smtp, "panic", r, "stack", string(debug.Stack()))
			}
		}()
		e.runWorker(w)
	}()
}

// retireAndFinish is not inlined so that runWorker's frame, on the
// worker's stack all its life, stays small (see worker.loop).
//
//go:noinline
func (e *Engine) retireAndFinish(w *worker) {
	e.restores.leave(w)
	e.admit.leave(w)
	if !w.wasLive {
		e.loads.ended(false)
	}
	w.finish(e.retire(w))
}

// retire takes a stopped worker out of the supervisor's tables. A worker
// still current for its mailbox (the engine is stopping) leaves its status
// as stopped, which retire returns for the worker to persist (ok=false for
// a mailbox that was removed or already handed to a successor).
func (e *Engine) retire(w *worker) (store.MailboxStatus, bool) {
	e.mu.Lock()
	if e.retiring[w.smtp] == w {
		delete(e.retiring, w.smtp)
	}
	var (
		st               store.MailboxStatus
		changed, current bool
	)
	if e.workers[w.smtp] == w {
		// Applied under e.mu, so that a successor's fresh status cannot
		// be marked stopped by its predecessor.
		st, changed, current = e.statuses.apply(w.smtp, func(st *store.MailboxStatus) { st.State = StateStopped })
		if current && (e.stopping || e.runCtx.Err() != nil) {
			// Stored with every other mailbox's (stop.go), not by the
			// worker. The run's context ends the workers' at once, so
			// some retire before Run has marked the engine stopping.
			e.stopped = append(e.stopped, st)
			current = false
		}
	}
	e.mu.Unlock()
	if changed {
		e.sink.StatusChanged(st)
	}
	return st, current
}

func (e *Engine) worker(smtp string) *worker {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.workers[smtp]
}

// Status returns the live status of one mailbox.
func (e *Engine) Status(smtp string) (store.MailboxStatus, error) {
	smtp = normalize(smtp)
	st, ok := e.statuses.get(smtp)
	if !ok {
		return store.MailboxStatus{}, fmt.Errorf("%w: %s", ErrUnknownMailbox, smtp)
	}
	return st, nil
}

// Statuses returns the live status of every synced mailbox, sorted by address.
func (e *Engine) Statuses() []store.MailboxStatus { return e.statuses.all() }

// StateCounts returns how many mailboxes are in each state.
func (e *Engine) StateCounts() map[string]int { return e.statuses.counts() }

// MemoryReleases returns how many times the end of a load has given the
// load's transient memory back (memrelease.go; it runs on a goroutine of
// its own once the last worker of the load is live), so that a caller
// measuring memory after a load (the bench) can take the figures once it
// has.
func (e *Engine) MemoryReleases() int64 { return e.loads.released.Load() }

// Failing returns how many mailboxes do not sync: in back-off, denied,
// waiting behind the credential gate, or retrying a step that failed
// (which StateCounts shows under the step's state). While the gate is
// closed every mailbox that is not live counts: a step that began before
// Exchange rejected the credentials waits at the gate inside its request
// and still shows the step's state, but it cannot sync either.
func (e *Engine) Failing() int {
	if closed, _ := e.budget.creds.closed(); closed {
		return e.statuses.notLive()
	}
	return e.statuses.failing()
}

// updateStatus applies fn to a mailbox's live status and returns the result.
func (e *Engine) updateStatus(smtp string, fn func(*store.MailboxStatus)) (store.MailboxStatus, bool) {
	return e.statuses.update(smtp, fn)
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

// ExchangeHealth returns the state of Exchange as the whole engine sees it
// (credentials rejected, unreachable, throttled or ok).
func (e *Engine) ExchangeHealth() ExchangeHealth { return e.budget.creds.health.health() }

// Groups returns the streaming groups and their connections (empty in pull mode).
func (e *Engine) Groups() []GroupStatus { return e.streams.summary() }

// BudgetLimit returns how many EWS requests the budget lets out at once
// now (the calsync_engine_budget_concurrency_limit gauge), for a caller
// that samples it often (the bench) without gathering every metric.
func (e *Engine) BudgetLimit() int { return e.budget.parallelism() }

// jitter returns a duration uniformly drawn from [d*(1-frac), d].
func (e *Engine) jitter(d time.Duration, frac float64) time.Duration { return e.env.jitter(d, frac) }

// backoffDelay is exponential back-off with jitter for the n-th failure.
func (e *Engine) backoffDelay(n int) time.Duration { return e.env.backoffDelay(n) }

// call runs one EWS request for mailbox smtp within the budget.
func (e *Engine) call(ctx context.Context, smtp, server string, fn func(context.Context) error) error {
	return e.env.call(ctx, smtp, server, fn)
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
