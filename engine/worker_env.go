package engine

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// workerEnv is everything a mailbox worker uses, handed over by the
// supervisor when it builds the engine. Workers never see the Engine: what
// they may touch is listed here, and the supervisor alone owns the set of
// workers and their retirement.
type workerEnv struct {
	opts     *Options // read-only after New
	clk      clock.Clock
	log      *slog.Logger
	ex       Exchange
	st       store.Store
	sink     Sink
	metrics  *metrics
	budget   *budget
	random   *jitterSource
	status   *statusTable
	groups   groupMembership
	disco    mailboxDiscoverer
	failures *failureLog
	// tipsPolled is set while the OOF tip poller runs (oofpoll.go): the
	// per-mailbox OOFInterval refresh is then redundant and skipped.
	tipsPolled *atomic.Bool
	// zones batches the first loads' time-zone reads (zonebatch.go); nil
	// when the Exchange cannot.
	zones *zoneBatcher
	// deep runs requests and commits off the worker's goroutine.
	deep *deepPool
	// loads hears when a worker is live for the first time (memrelease.go).
	loads *loadTracker
	// resume runs a parked worker again (park.go); the supervisor's.
	resume func(*worker)
	// parks wakes parked workers at their due times (parktimers.go).
	parks *parkTimers
	// restores and admit bound the workers that restore and run steps at
	// once (admit.go).
	restores, admit *admission
}

// groupMembership is what a worker asks of the streaming groups.
type groupMembership interface {
	// join and leave add and remove the mailbox to and from a group.
	join(key string, res DiscoverResult, smtp string)
	leave(key, smtp string)
	// attach puts the mailbox's subscription on the group's connections;
	// detach takes it off.
	attach(key, smtp, subID string)
	detach(key, smtp string)
	// affinity is the anchor mailbox and backend cookie smtp's Subscribe
	// carries so that it lands where the group streams; a member waits for
	// the anchor's subscription first.
	affinity(ctx context.Context, key, smtp string) (anchor, cookie string)
	// subscribed records smtp's new subscription and the cookie its
	// answer carried; subscribeFailed a refusal.
	subscribed(key, smtp, cookie string)
	subscribeFailed(key, smtp string)
}

// mailboxDiscoverer answers Autodiscover for one mailbox (batched behind).
type mailboxDiscoverer interface {
	discover(ctx context.Context, smtp string) (DiscoverResult, error)
	// ask queues a lookup whose answer is awaited later (awaitDiscover).
	ask(smtp string) <-chan DiscoverResult
}

// call runs one EWS request for mailbox smtp within the budget. The
// request and the decoding of its answer run on the deep pool, once the
// budget let the request go.
func (env *workerEnv) call(ctx context.Context, smtp, server string, fn func(context.Context) error) error {
	err := env.budget.do(ctx, smtp, server, env.opts.CallTimeout, func(ctx context.Context) error {
		return env.deep.run(func() error { return fn(ctx) })
	})
	if err != nil && ctx.Err() == nil {
		env.metrics.errors.WithLabelValues(ErrorCode(err)).Inc()
	}
	return err
}

// jitter returns a duration uniformly drawn from [d*(1-frac), d].
func (env *workerEnv) jitter(d time.Duration, frac float64) time.Duration {
	return env.random.jitter(d, frac)
}

// backoffDelay is exponential back-off with jitter for the n-th failure.
func (env *workerEnv) backoffDelay(n int) time.Duration {
	return env.random.jitter(expBackoff(env.opts.RetryBase, env.opts.RetryMax, n), 0.5)
}
