package hybridexchange

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/calsync/calsync/engine"
)

// Discover implements engine.Exchange. A decided mailbox (kept, or named
// by the directory) is looked up on its side only; a mailbox that stopped
// answering there, or was never decided, is asked about on both (probe).
// The answer of the side that serves it is the mailbox's routing, so a
// mailbox that changed sides reaches the engine as a new routing: the
// engine regroups, subscribes on the new side and reads in full.
func (r *Router) Discover(ctx context.Context, smtps []string) ([]engine.DiscoverResult, error) {
	out := make([]engine.DiscoverResult, len(smtps))
	bySide := map[Side][]int{}
	var probe []int
	for i, s := range smtps {
		side, known := r.known(s)
		if known {
			bySide[side] = append(bySide[side], i)
		} else {
			probe = append(probe, i)
		}
	}
	for _, side := range []Side{OnPremises, Cloud} {
		idx := bySide[side]
		if len(idx) == 0 {
			continue
		}
		batch := make([]string, len(idx))
		for j, i := range idx {
			batch[j] = smtps[i]
		}
		res, err := r.sides[side].Discover(ctx, batch)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			if j >= len(res) {
				out[i] = engine.DiscoverResult{SMTP: smtps[i], Err: fmt.Errorf("hybridexchange: %s answered no routing for %s", side, smtps[i])}
				continue
			}
			out[i] = grouped(side, res[j])
			if res[j].Err != nil && notHere(side, engine.ErrorCode(res[j].Err)) {
				r.markSuspect(smtps[i])
				probe = append(probe, i)
			}
		}
	}
	r.probeAll(ctx, smtps, probe, out)
	if err := r.save(ctx); err != nil {
		r.log.Warn("keeping where mailboxes live failed; a restart will look again", "err", err)
	}
	return out, ctx.Err()
}

// known returns the side a mailbox is served from without asking, if any.
func (r *Router) known(smtp string) (Side, bool) {
	key := normalize(smtp)
	r.mu.Lock()
	s, ok := r.decided[key]
	suspect := r.suspect[key]
	_, neither := r.neither[key]
	r.mu.Unlock()
	if suspect || neither {
		return "", false
	}
	if ok {
		return s, true
	}
	if r.opts.Hint != nil {
		if h := r.opts.Hint(smtp); h == OnPremises || h == Cloud {
			r.decide(smtp, h)
			return h, true
		}
	}
	return "", false
}

func (r *Router) probeAll(ctx context.Context, smtps []string, idx []int, out []engine.DiscoverResult) {
	sem := make(chan struct{}, r.opts.ProbeConcurrency)
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = r.probe(ctx, smtps[i])
		}()
	}
	wg.Wait()
}

// answer is what one side said about a mailbox.
type answer struct {
	res    engine.DiscoverResult
	err    error
	served bool
}

// probe asks both sides about smtp, the likelier first: the other side of
// one it stopped answering on, else the directory's hint, else Graph (one
// request, and the EWS side is the old default the engine tries anyway).
// Served anywhere decides; a move in progress waits (the last good data
// stays); any other failure of a side leaves the mailbox undecided with
// that error; both sides refusing is HybridMailboxNotFound.
func (r *Router) probe(ctx context.Context, smtp string) engine.DiscoverResult {
	first := Cloud
	r.mu.Lock()
	prev, had := r.decided[normalize(smtp)]
	r.mu.Unlock()
	switch {
	case had:
		first = prev.other()
	case r.opts.Hint != nil && r.opts.Hint(smtp) != "":
		first = r.opts.Hint(smtp)
	}
	var answers [2]answer
	for n, side := range []Side{first, first.other()} {
		a := r.ask(ctx, side, smtp)
		if a.served {
			if r.decide(smtp, side) {
				r.log.Info("mailbox lives on "+string(side), "smtp", smtp, "before", string(prev))
			}
			return a.res
		}
		answers[n] = a
		if engine.ErrorCode(a.err) == "ErrorMailboxMoveInProgress" {
			return engine.DiscoverResult{SMTP: smtp, Err: a.err}
		}
	}
	for _, a := range answers {
		if c := engine.ErrorCode(a.err); !notHere(OnPremises, c) && !notHere(Cloud, c) {
			return engine.DiscoverResult{SMTP: smtp, Err: a.err} // undecided: the engine retries
		}
	}
	// Both refused. A move that completed between the two questions looks
	// the same: the side asked first may serve the mailbox by now.
	if a := r.ask(ctx, first, smtp); a.served {
		r.decide(smtp, first)
		return a.res
	}
	err := &engine.ExchangeError{Code: CodeNotFound, Err: fmt.Errorf("hybridexchange: neither side serves %s: %w", smtp, errors.Join(answers[0].err, answers[1].err))}
	r.mu.Lock()
	key := normalize(smtp)
	delete(r.suspect, key)
	if _, ok := r.decided[key]; ok {
		delete(r.decided, key)
		r.dirty = true
	}
	r.neither[key] = err
	r.mu.Unlock()
	return engine.DiscoverResult{SMTP: smtp, Err: err}
}

// ask is one side's word on smtp: EWS looks the mailbox up (Autodiscover)
// and reads its automatic replies as the service account would; Graph
// reads its mailboxSettings.
func (r *Router) ask(ctx context.Context, side Side, smtp string) answer {
	x := r.sides[side]
	res, err := x.Discover(ctx, []string{smtp})
	switch {
	case err != nil:
		return answer{err: err}
	case len(res) != 1:
		return answer{err: fmt.Errorf("hybridexchange: %s answered %d routings for one mailbox", side, len(res))}
	case res[0].Err != nil:
		return answer{err: res[0].Err}
	}
	t := engine.Target{SMTP: smtp, EWSURL: res[0].EWSURL}
	if _, err := x.OOF(ctx, t); err != nil {
		return answer{err: err}
	}
	res[0].SMTP = smtp
	return answer{res: grouped(side, res[0]), served: true}
}

// decide records that smtp lives on side; it reports a change.
func (r *Router) decide(smtp string, side Side) bool {
	key := normalize(smtp)
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.suspect, key)
	delete(r.neither, key)
	if r.decided[key] == side {
		return false
	}
	r.decided[key] = side
	r.dirty = true
	return true
}

// grouped names the side in the grouping (shown in status, and a move
// always changes the engine's group key).
func grouped(s Side, d engine.DiscoverResult) engine.DiscoverResult {
	d.GroupingInformation = string(s) + ":" + d.GroupingInformation
	return d
}
