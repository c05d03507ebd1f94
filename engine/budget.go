package engine

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// semaphore is a FIFO counting semaphore whose limit can change at run time.
// Safe for concurrent use.
type semaphore struct {
	mu      sync.Mutex
	limit   int
	used    int
	waiters []chan struct{}
}

func newSemaphore(limit int) *semaphore { return &semaphore{limit: limit} }

// acquire takes a slot or returns ctx's error.
func (s *semaphore) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.used < s.limit && len(s.waiters) == 0 {
		s.used++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = slices.Delete(s.waiters, i, i+1)
				s.mu.Unlock()
				return ctx.Err()
			}
		}
		s.mu.Unlock()
		// Granted while we gave up: hand the slot back.
		s.release()
		return ctx.Err()
	}
}

// release returns a slot and wakes waiters that now fit.
func (s *semaphore) release() {
	s.mu.Lock()
	s.used--
	s.grantLocked()
	s.mu.Unlock()
}

func (s *semaphore) grantLocked() {
	for s.used < s.limit && len(s.waiters) > 0 {
		ch := s.waiters[0]
		// Cleared: the slots before the slice's start stay in its array,
		// which keeps what they point to. A granted waiter's channel,
		// made during the load between its garbage, kept a span in use
		// after the load (docs/BENCHMARKS.md, "Partly used spans after
		// the load (session 10)").
		s.waiters[0] = nil
		s.waiters = s.waiters[1:]
		s.used++
		close(ch)
	}
}

func (s *semaphore) setLimit(n int) {
	if n < 1 {
		n = 1
	}
	s.mu.Lock()
	s.limit = n
	s.grantLocked()
	s.mu.Unlock()
}

func (s *semaphore) getLimit() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit
}

// inUse reports the slots taken.
func (s *semaphore) inUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

func (s *semaphore) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used == 0 && len(s.waiters) == 0
}

// budget bounds the requests the engine sends: overall, per EWS server and
// per impersonated user; it paces request starts and pauses the budget a
// throttling error concerns. Safe for concurrent use.
type budget struct {
	clk     clock.Clock
	cfg     BudgetConfig
	metrics *metrics
	creds   *credentialGate

	global *semaphore
	// adaptive sets global's limit from Exchange's answers; nil with a
	// fixed request rate (see budget_adaptive.go).
	adaptive *adaptiveLimit

	mu          sync.Mutex
	servers     map[string]*semaphore
	users       map[string]*userSlot
	pausedUntil time.Time            // all traffic
	serverPause map[string]time.Time // per EWS server
	userPause   map[string]time.Time // per impersonated user
	nextStart   time.Time            // pacing
	lastChange  time.Time            // last parallelism change
}

type userSlot struct {
	sem  *semaphore
	refs int
}

func newBudget(clk clock.Clock, cfg BudgetConfig, m *metrics, log *slog.Logger) *budget {
	b := &budget{
		clk:         clk,
		cfg:         cfg,
		metrics:     m,
		creds:       newCredentialGate(clk, log, cfg.CredentialPause),
		global:      newSemaphore(cfg.Concurrency),
		servers:     map[string]*semaphore{},
		users:       map[string]*userSlot{},
		serverPause: map[string]time.Time{},
		userPause:   map[string]time.Time{},
	}
	if cfg.RequestsPerSecond == 0 {
		b.adaptive = newAdaptiveLimit(cfg.Concurrency)
		if _, real := clk.(clock.Real); real {
			// The probe measures the real scheduler: only round trips on
			// the real clock contain its lag (an injected clock's do not).
			b.adaptive.localLag = newLagProbe(lagProbeInterval, lagProbeIdle).recent
		}
		b.global.setLimit(b.adaptive.current())
	}
	b.metrics.budgetLimit.Set(float64(b.global.getLimit()))
	return b
}

// do runs fn inside the budget of (user, server), with the per-call
// timeout, and applies the throttling consequences of its error.
func (b *budget) do(ctx context.Context, user, server string, timeout time.Duration, fn func(context.Context) error) (err error) {
	// Wait out a pause of this user or server before asking the credential
	// gate: a probe must not sit in a throttling pause while every other
	// request waits for its outcome.
	if err := b.waitPause(ctx, user, server); err != nil {
		return err
	}
	probe, err := b.creds.wait(ctx)
	if err != nil {
		return err
	}
	// A probe that never reaches Exchange (cancelled while queued) must
	// still hand the probe on.
	outcome := errNotSent
	defer func() { b.creds.report(outcome, probe) }()
	us := b.userSem(user)
	defer b.dropUser(user)
	if err := us.acquire(ctx); err != nil {
		return err
	}
	defer us.release()
	ss := b.serverSem(server)
	if err := ss.acquire(ctx); err != nil {
		return err
	}
	defer ss.release()
	if err := b.global.acquire(ctx); err != nil {
		return err
	}
	defer b.global.release()
	if err := b.pace(ctx); err != nil {
		return err
	}
	// A pause may have started while we queued.
	if err := b.waitPause(ctx, user, server); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	inflight, sent := b.global.inUse(), b.clk.Now()
	err = fn(cctx)
	cancel()
	outcome = err
	b.after(user, server, err)
	if b.adaptive != nil && ctx.Err() == nil && (err != nil || latencySampled(ctx)) {
		b.adapt(err, b.clk.Now().Sub(sent), inflight)
	}
	return err
}

// errNotSent is the outcome of a request the budget never let go.
var errNotSent = errors.New("engine: request not sent")

func (b *budget) userSem(user string) *semaphore {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[user]
	if u == nil {
		u = &userSlot{sem: newSemaphore(b.cfg.PerUser)}
		b.users[user] = u
	}
	u.refs++
	return u.sem
}

func (b *budget) dropUser(user string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u := b.users[user]; u != nil {
		u.refs--
		if u.refs <= 0 {
			delete(b.users, user)
		}
	}
}

func (b *budget) serverSem(server string) *semaphore {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.servers[server]
	if s == nil {
		s = newSemaphore(b.cfg.PerServer)
		b.servers[server] = s
	}
	return s
}

// pauseUntilLocked returns when traffic for (user, server) may resume.
func (b *budget) pauseUntilLocked(user, server string) time.Time {
	until := b.pausedUntil
	if t := b.serverPause[server]; t.After(until) {
		until = t
	}
	if t := b.userPause[user]; t.After(until) {
		until = t
	}
	return until
}

func (b *budget) waitPause(ctx context.Context, user, server string) error {
	for {
		b.mu.Lock()
		until := b.pauseUntilLocked(user, server)
		b.mu.Unlock()
		d := until.Sub(b.clk.Now())
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, b.clk, d); err != nil {
			return err
		}
	}
}

// pace spaces request starts RequestsPerSecond apart.
func (b *budget) pace(ctx context.Context) error {
	if b.cfg.RequestsPerSecond <= 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / b.cfg.RequestsPerSecond)
	b.mu.Lock()
	now := b.clk.Now()
	slot := b.nextStart
	if slot.Before(now) {
		slot = now
	}
	b.nextStart = slot.Add(interval)
	b.mu.Unlock()
	if d := slot.Sub(now); d > 0 {
		return sleep(ctx, b.clk, d)
	}
	return nil
}

// after applies the throttling consequences of a call's result.
func (b *budget) after(user, server string, err error) {
	now := b.clk.Now()
	if err == nil {
		// Give back parallelism taken away earlier, one slot per 30 s of
		// success (the adaptive limiter has its own increase).
		if l := b.global.getLimit(); b.adaptive == nil && l < b.cfg.Concurrency {
			b.mu.Lock()
			if now.Sub(b.lastChange) >= 30*time.Second {
				b.lastChange = now
				b.global.setLimit(l + 1)
				b.metrics.budgetLimit.Set(float64(l + 1))
			}
			b.mu.Unlock()
		}
		return
	}
	code := ErrorCode(err)
	switch classify(err).act {
	case actThrottled:
		d := backOffHint(err)
		if d <= 0 {
			d = b.cfg.ThrottlePause
		}
		if d > b.cfg.MaxBackOff {
			d = b.cfg.MaxBackOff
		}
		until := now.Add(d)
		b.mu.Lock()
		switch code {
		case "ErrorServerBusy", "ApplicationThrottled":
			// Impersonated calls are charged to the target mailbox's budget
			// (Graph's limits are per mailbox too): pause that mailbox, and
			// briefly the server it lives on.
			if until.After(b.userPause[user]) {
				b.userPause[user] = until
			}
			short := now.Add(min(d, b.cfg.ThrottlePause))
			if short.After(b.serverPause[server]) {
				b.serverPause[server] = short
			}
		default: // HTTP 503/429: the front end is overloaded; pause everything.
			if until.After(b.pausedUntil) {
				b.pausedUntil = until
			}
			b.creds.health.throttled(until, err)
		}
		b.gcPausesLocked(now)
		b.mu.Unlock()
		b.metrics.throttled.WithLabelValues(code).Inc()
	case actLessParallel:
		b.metrics.throttled.WithLabelValues(code).Inc()
		if b.adaptive != nil {
			return // adapt shrinks the limit
		}
		b.mu.Lock()
		b.lastChange = now
		b.mu.Unlock()
		b.global.setLimit(b.global.getLimit() / 2)
		b.metrics.budgetLimit.Set(float64(b.global.getLimit()))
	}
}

func (b *budget) gcPausesLocked(now time.Time) {
	if len(b.userPause) < 1024 {
		return
	}
	for k, t := range b.userPause {
		if t.Before(now) {
			delete(b.userPause, k)
		}
	}
}

// parallelism reports the current overall concurrency limit.
func (b *budget) parallelism() int { return b.global.getLimit() }

// sleep waits d on clk or until ctx ends.
func sleep(ctx context.Context, clk clock.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
