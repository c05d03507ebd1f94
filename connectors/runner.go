package connectors

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/logsample"
)

// Options configure a Runner; zero values take the defaults.
type Options struct {
	// Name names the connector in logs, status and metrics (sip).
	Name   string
	Target Target
	// Initial returns the presence every user should show at start (the
	// scheduler's stored presence of the users to sync). Users the target
	// holds (Holder) without an initial state are withdrawn.
	Initial func(ctx context.Context) (map[string]State, error)
	// Concurrency bounds the updates in flight (default 64).
	Concurrency int
	// RetryMin and RetryMax bound the back-off of a user's failed update
	// and of probes while the target is unavailable (default 1 s, 5 min).
	RetryMin, RetryMax time.Duration
	Clock              clock.Clock
	Logger             *slog.Logger
	// Observe, when set, hears of every finished update (metrics).
	Observe func(result string, took time.Duration)
	// Scoped: the runner publishes only the users handed to it with Adopt
	// (the users a cluster instance owns) and ignores changes of others;
	// Initial and the target's held users are not read at start.
	Scoped bool
}

// entry is what one user should show.
type entry struct {
	state   *State // nil: withdraw
	version uint64 // increases on every change
	resend  bool
	// sent is the version the target confirmed (0: none yet).
	sent     uint64
	failures int
	live     bool // the target shows a state for the user
}

// Runner sends the presence users should show through a Target. Safe for
// concurrent use; Run drives it.
type Runner struct {
	opts Options
	fail *logsample.Sampler[string]

	mu       sync.Mutex
	users    map[string]*entry
	queue    []string             // users to send, FIFO
	queued   map[string]bool      // in queue
	inflight map[string]bool      // being sent
	timers   timerHeap            // refreshes and retries
	timerAt  map[string]time.Time // the user's pending timer
	seq      uint64
	// The gate: while down, nothing is sent but one probe after probeAt.
	down      bool
	downFails int
	probeAt   time.Time
	probing   bool
	connected bool // the last answer came from the target
	lastErr   string
	lastErrAt time.Time
	kick      chan struct{}
	// scope is the adopted users (Options.Scoped; nil otherwise).
	scope map[string]bool
	// landed is signalled when an update ends (Release waits on it).
	landed *sync.Cond
}

// NewRunner returns a runner; call Run.
func NewRunner(opts Options) (*Runner, error) {
	if opts.Target == nil {
		return nil, fmt.Errorf("connectors: Options.Target is required")
	}
	if opts.Name == "" {
		opts.Name = "connector"
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 64
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{opts: opts, users: map[string]*entry{}, queued: map[string]bool{}, inflight: map[string]bool{},
		timerAt: map[string]time.Time{}, kick: make(chan struct{}, 1)}
	r.landed = sync.NewCond(&r.mu)
	if opts.Scoped {
		r.scope = map[string]bool{}
	}
	r.fail = logsample.New(opts.Clock, 3, time.Minute, func(cause string, n int, _ any) {
		opts.Logger.Warn("connector: more updates failed", "connector", opts.Name, "cause", cause, "count", n, "window", "1m")
	})
	return r, nil
}

// Set records what user should show now; the runner sends it soon.
func (r *Runner) Set(user string, s State) { r.set(user, &s, false) }

// Remove withdraws user's presence (the user left the users source).
func (r *Runner) Remove(user string) { r.set(user, nil, false) }

func (r *Runner) set(user string, s *State, resend bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scope != nil && !r.scope[user] {
		return // another instance publishes this user
	}
	e := r.users[user]
	if e == nil {
		if s == nil {
			return // nothing was shown, nothing to withdraw
		}
		e = &entry{}
		r.users[user] = e
	}
	r.seq++
	e.state, e.version, e.failures = s, r.seq, 0
	e.resend = e.resend || resend
	r.enqueueLocked(user)
}

// Retain withdraws every user not in users.
func (r *Runner) Retain(users []string) {
	keep := make(map[string]bool, len(users))
	for _, u := range users {
		keep[u] = true
	}
	r.mu.Lock()
	var gone []string
	for u, e := range r.users {
		if !keep[u] && e.state != nil {
			gone = append(gone, u)
		}
	}
	r.mu.Unlock()
	for _, u := range gone {
		r.Remove(u)
	}
}

func (r *Runner) enqueueLocked(user string) {
	delete(r.timerAt, user) // the heap entry is ignored when it fires
	if !r.queued[user] {
		r.queued[user] = true
		r.queue = append(r.queue, user)
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run loads the initial state and sends until ctx ends; updates in flight
// finish first.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.seed(ctx); err != nil {
		return err
	}
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := r.opts.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// A slot first: an update picked waits for nothing, so the gate's
		// decision is taken when the update can go.
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		user, u, wait := r.next()
		if user != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				r.send(ctx, user, u)
			}()
			continue
		}
		<-sem
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		case <-timer.C():
		}
	}
}

// seed queues the initial state and the withdrawals of held users.
func (r *Runner) seed(ctx context.Context) error {
	if r.opts.Scoped {
		return nil // Adopt hands the users over
	}
	var initial map[string]State
	if r.opts.Initial != nil {
		var err error
		if initial, err = r.opts.Initial(ctx); err != nil {
			return fmt.Errorf("connector %s: reading the presence to publish: %w", r.opts.Name, err)
		}
	}
	var held []string
	if h, ok := r.opts.Target.(Holder); ok {
		held = h.Held()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for u, s := range initial {
		if r.users[u] == nil { // a change that came first is newer
			s := s
			r.seq++
			// Resend: the server may have lost it while calsync was away.
			r.users[u] = &entry{state: &s, version: r.seq, resend: true}
			r.enqueueLocked(u)
		}
	}
	for _, u := range held {
		if r.users[u] == nil {
			r.seq++
			r.users[u] = &entry{version: r.seq, live: true}
			r.enqueueLocked(u)
		} else {
			r.users[u].live = true
		}
	}
	return nil
}

// next picks the next user to send, or says how long to wait.
func (r *Runner) next() (string, Update, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Clock.Now()
	for r.timers.Len() > 0 && !r.timers[0].at.After(now) {
		t := heap.Pop(&r.timers).(timerItem)
		if at, ok := r.timerAt[t.user]; ok && at.Equal(t.at) {
			delete(r.timerAt, t.user)
			r.enqueueLocked(t.user)
		}
	}
	wait := time.Hour
	if r.timers.Len() > 0 {
		wait = r.timers[0].at.Sub(now)
	}
	if r.down {
		if r.probing {
			return "", Update{}, wait
		}
		if now.Before(r.probeAt) {
			return "", Update{}, min(wait, r.probeAt.Sub(now))
		}
	}
	for i := 0; i < len(r.queue); i++ {
		user := r.queue[i]
		if r.inflight[user] {
			continue // sent again when the update in flight ends
		}
		if i == 0 {
			r.queue = r.queue[1:]
		} else {
			r.queue = append(r.queue[:i:i], r.queue[i+1:]...)
		}
		delete(r.queued, user)
		e := r.users[user]
		if e == nil {
			i--
			continue // withdrawn and gone meanwhile
		}
		r.inflight[user] = true
		if r.down {
			r.probing = true
		}
		return user, Update{User: user, State: e.state, Resend: e.resend}, 0
	}
	return "", Update{}, wait
}

// abandon puts back a user picked when the runner is stopping.
func (r *Runner) abandon(user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.inflight, user)
	r.probing = false
	r.landed.Broadcast()
}

// send runs one update and records its outcome.
func (r *Runner) send(ctx context.Context, user string, u Update) {
	r.mu.Lock()
	e := r.users[user]
	if e == nil { // released meanwhile
		delete(r.inflight, user)
		r.probing = false
		r.landed.Broadcast()
		r.mu.Unlock()
		return
	}
	version := e.version
	r.mu.Unlock()
	start := r.opts.Clock.Now()
	refreshAt, err := r.opts.Target.Publish(ctx, u)
	if ctx.Err() != nil && err != nil {
		r.abandon(user)
		return
	}
	if r.opts.Observe != nil {
		result := "ok"
		if IsUnavailable(err) {
			result = "unavailable"
		} else if err != nil {
			result = "failed"
		}
		r.opts.Observe(result, r.opts.Clock.Now().Sub(start))
	}
	r.finish(ctx, user, version, refreshAt, err)
}

func (r *Runner) finish(ctx context.Context, user string, version uint64, refreshAt time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Clock.Now()
	delete(r.inflight, user)
	r.landed.Broadcast()
	wasProbe := r.probing
	r.probing = false
	e := r.users[user]
	if e == nil {
		// Released while in flight: what it did is the new owner's
		// starting point; nothing more to do here.
		if err != nil && IsUnavailable(err) {
			r.connected = false
			r.noteErrLocked(now, err)
		}
		return
	}
	if err == nil || !IsUnavailable(err) {
		// The server answered: it is up.
		r.connected = true
		if r.down {
			r.down, r.downFails = false, 0
			r.opts.Logger.Info("connector: the server answers again; resending every user's presence", "connector", r.opts.Name)
			r.resendAllLocked()
		}
	}
	switch {
	case err == nil:
		e.failures = 0
		if e.version == version {
			e.sent, e.resend = version, false
			e.live = e.state != nil
			if e.state == nil {
				delete(r.users, user)
				delete(r.scope, user) // removed from the users: no longer adopted
				return
			}
			if !refreshAt.IsZero() {
				r.timerLocked(user, refreshAt)
			}
		}
	case IsUnavailable(err):
		r.connected = false
		r.noteErrLocked(now, err)
		if !r.down || wasProbe {
			r.downFails++
		}
		if !r.down {
			r.opts.Logger.Warn("connector: the server is unavailable; holding updates back and probing", "connector", r.opts.Name, "err", err)
		}
		r.down = true
		r.probeAt = now.Add(backoff(r.opts.RetryMin, r.opts.RetryMax, r.downFails))
		r.enqueueLocked(user)
		return
	default:
		r.noteErrLocked(now, err)
		if r.fail.Sample(ctx, "update failed", nil) {
			r.opts.Logger.Warn("connector: update failed; retrying", "connector", r.opts.Name, "user", user, "err", err)
		}
		e.failures++
		if e.version == version {
			r.timerLocked(user, now.Add(backoff(r.opts.RetryMin, r.opts.RetryMax, e.failures)))
			return
		}
	}
	if e.version != version {
		r.enqueueLocked(user)
	}
}

// resendAllLocked queues every user with Resend: the server may have lost
// what it showed while it was away.
func (r *Runner) resendAllLocked() {
	for u, e := range r.users {
		e.resend = true
		r.enqueueLocked(u)
	}
}

func (r *Runner) timerLocked(user string, at time.Time) {
	r.timerAt[user] = at
	heap.Push(&r.timers, timerItem{user: user, at: at})
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Runner) noteErrLocked(now time.Time, err error) {
	r.lastErr, r.lastErrAt = err.Error(), now
}

// backoff is min·2^(n-1), capped.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

type timerItem struct {
	user string
	at   time.Time
}

type timerHeap []timerItem

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerItem)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
