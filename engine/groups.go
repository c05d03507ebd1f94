package engine

import (
	"context"
	"fmt"
	"sync"
)

// GroupKey is the affinity group of an Autodiscover answer: the key the
// workers join streaming groups by and store as the mailbox's status
// Group.
func (r DiscoverResult) GroupKey() string { return r.GroupingInformation + "|" + r.EWSURL }

// discoverGroupsParallel is how many batched Autodiscover requests
// DiscoverGroups has in flight (the budget may allow fewer).
const discoverGroupsParallel = 4

// DiscoverGroups looks up the affinity groups of smtps with batched
// Autodiscover (up to 90 mailboxes per GetUserSettings), within the
// engine's budget and credential gate, without starting workers: a cluster
// learns the groups of mailboxes nobody synced yet before it places them
// (cluster.Options.Discover), so that each is placed once, with its group.
// A mailbox Autodiscover answered with an error for maps to "". A batch
// whose request failed is left out, and the first such error returned.
func (e *Engine) DiscoverGroups(ctx context.Context, smtps []string) (map[string]string, error) {
	out := make(map[string]string, len(smtps))
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, discoverGroupsParallel)
	var wg sync.WaitGroup
	for i := 0; i < len(smtps); i += maxDiscoverBatch {
		batch := smtps[i:min(i+maxDiscoverBatch, len(smtps))]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			groups, err := e.discoverBatch(ctx, batch)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			for i, g := range groups {
				out[batch[i]] = g
			}
		})
	}
	wg.Wait()
	return out, first
}

// discoverBatch is one GetUserSettings for batch: the group of each, in
// order.
func (e *Engine) discoverBatch(ctx context.Context, batch []string) ([]string, error) {
	var results []DiscoverResult
	// A batch: its round trip is no latency sample (budget_batch.go).
	err := e.call(withoutLatencySample(ctx), "", "autodiscover", func(ctx context.Context) (err error) {
		defer func() {
			// A broken answer fails this batch, not the caller's goroutine
			// (the cluster's coordinator).
			if r := recover(); r != nil {
				err = fmt.Errorf("engine: internal error in autodiscover: %v", r)
			}
		}()
		results, err = e.ex.Discover(ctx, batch)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(results) != len(batch) {
		return nil, fmt.Errorf("engine: autodiscover returned %d results for %d mailboxes", len(results), len(batch))
	}
	groups := make([]string, len(batch))
	for i, r := range results {
		if r.Err == nil {
			groups[i] = r.GroupKey()
		}
	}
	return groups, nil
}
