package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// maxDiscoverBatch is Exchange's default MaxUsersPerGetUserSettingsRequest.
const maxDiscoverBatch = 90

// discoverer gathers Autodiscover lookups of many workers into batched
// GetUserSettings requests (up to 90 users each), so that an initial load
// costs about 1/90 of a request per mailbox. Safe for concurrent use.
type discoverer struct {
	e    *Engine
	wake chan struct{}

	mu sync.Mutex
	// urgent are the lookups a step awaits at once (a retry, a move, a
	// renewal): they go ahead of order, the lookups queued at restore,
	// which at a start are every mailbox's.
	urgent, order []string
	// waiting are the callers of the lookups not yet sent, by mailbox. A
	// batch takes its mailboxes' callers along when it is sent: a lookup
	// that begins later asks again, in a later batch, since the batch's
	// answer may predate what made the caller ask (a move).
	waiting map[string][]chan DiscoverResult
}

func newDiscoverer(e *Engine) *discoverer {
	return &discoverer{e: e, wake: make(chan struct{}, 1), waiting: map[string][]chan DiscoverResult{}}
}

// discover returns the Autodiscover result for smtp.
func (d *discoverer) discover(ctx context.Context, smtp string) (DiscoverResult, error) {
	return awaitDiscover(ctx, d.enqueue(smtp, true))
}

// ask queues smtp for the next batch and returns where its answer will
// arrive (buffered: an answer nobody takes is dropped with the channel).
// A worker's first load asks when it restores, long before its first step
// needs the answer (worker_state.go): at a start the workers restore much
// faster than they get step slots, so the queue fills at once and batches
// leave full, as the zone batches do (zonebatch.go).
func (d *discoverer) ask(smtp string) <-chan DiscoverResult {
	return d.enqueue(smtp, false)
}

// enqueue queues smtp for a batch, ahead of the restores' lookups if
// urgent.
func (d *discoverer) enqueue(smtp string, urgent bool) <-chan DiscoverResult {
	ch := make(chan DiscoverResult, 1)
	d.mu.Lock()
	switch {
	case len(d.waiting[smtp]) > 0: // joins the lookup not yet sent
	case urgent:
		d.urgent = append(d.urgent, smtp)
	default:
		d.order = append(d.order, smtp)
	}
	d.waiting[smtp] = append(d.waiting[smtp], ch)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return ch
}

// awaitDiscover waits for the answer of ask.
func awaitDiscover(ctx context.Context, ch <-chan DiscoverResult) (DiscoverResult, error) {
	select {
	case r := <-ch:
		return r, r.Err
	case <-ctx.Done():
		return DiscoverResult{}, ctx.Err()
	}
}

// run serves batches until ctx ends.
func (d *discoverer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		// Let more lookups join the batch.
		if err := sleep(ctx, d.e.clk, d.e.opts.DiscoverBatchDelay); err != nil {
			return
		}
		for {
			batch, callers := d.take()
			if len(batch) == 0 {
				break
			}
			d.serve(ctx, batch, callers)
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// take returns the next batch and its callers, which leave d.waiting.
func (d *discoverer) take() ([]string, map[string][]chan DiscoverResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := min(len(d.urgent), maxDiscoverBatch)
	n := min(len(d.order), maxDiscoverBatch-u)
	batch := make([]string, 0, u+n)
	batch = append(append(batch, d.urgent[:u]...), d.order[:n]...)
	d.urgent, d.order = d.urgent[u:], d.order[n:]
	callers := make(map[string][]chan DiscoverResult, u+n)
	for _, smtp := range batch {
		callers[smtp] = d.waiting[smtp]
		delete(d.waiting, smtp)
	}
	return batch, callers
}

func (d *discoverer) serve(ctx context.Context, batch []string, callers map[string][]chan DiscoverResult) {
	var results []DiscoverResult
	// A batch: its round trip is no latency sample (budget_batch.go).
	err := d.e.call(withoutLatencySample(ctx), "", "autodiscover", func(ctx context.Context) (err error) {
		// A panic (a hostile or broken answer) fails this batch like any
		// error, so that its workers retry: it must not end the only
		// goroutine that serves Autodiscover.
		defer func() {
			if r := recover(); r != nil {
				d.e.log.Error("autodiscover panicked; failing the batch", "mailboxes", len(batch), "panic", r, "stack", string(debug.Stack()))
				err = fmt.Errorf("engine: internal error in autodiscover: %v", r)
			}
		}()
		results, err = d.e.ex.Discover(ctx, batch)
		return err
	})
	byAddr := map[string]DiscoverResult{}
	if err == nil {
		for i, r := range results {
			if i < len(batch) && r.SMTP == "" {
				r.SMTP = batch[i]
			}
			if r.Err != nil {
				// Per-mailbox answers of a successful call (InvalidUser, …)
				// count like any other Exchange error.
				d.e.metrics.errors.WithLabelValues(ErrorCode(r.Err)).Inc()
			}
			byAddr[normalize(r.SMTP)] = r
		}
	}
	for _, smtp := range batch {
		r, ok := byAddr[smtp]
		switch {
		case err != nil:
			r = DiscoverResult{SMTP: smtp, Err: err}
		case !ok:
			r = DiscoverResult{SMTP: smtp, Err: fmt.Errorf("engine: autodiscover returned no result for %s", smtp)}
		}
		for _, ch := range callers[smtp] {
			ch <- r // buffered, one answer each
		}
	}
}
