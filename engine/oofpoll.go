package engine

// Automatic replies raise no notification. Instead of reading every
// mailbox's settings often (one GetUserOofSettings each), the poller asks
// for the automatic-replies mail tip of many mailboxes per request
// (GetMailTips, up to the server's per-request limit) once per
// OOFPollInterval, spread evenly over it, and wakes only the workers whose
// tip changed; they read the full settings. At 10,000 mailboxes and a limit
// of 100 that is 100 requests a minute (1.7/s). The poller never sends more
// than maxOOFTipRate requests a second: with Exchange's usual limit of 50
// the 200 requests of a round take 100 s instead. Scheduled replies that
// have not started yet show in no tip: the reconciliation's full read
// covers them.

import (
	"context"
	"slices"
	"time"
)

// OOFTipReader is implemented by an Exchange that can poll the
// automatic-replies mail tips of many mailboxes in one request
// (engine/ewsexchange: GetMailTips). It is optional.
type OOFTipReader interface {
	// OOFTipLimit returns how many mailboxes one OOFTips call may carry.
	OOFTipLimit(ctx context.Context) int
	// OOFTips returns one tip per mailbox, in order. The error is for the
	// whole call; a mailbox's own error is in its tip.
	OOFTips(ctx context.Context, smtps []string) ([]OOFTip, error)
}

// OOFTip is what a mail tip says about one mailbox's automatic replies.
type OOFTip struct {
	SMTP string
	// Fingerprint changes whenever the tip does ("" = replies off).
	Fingerprint string
	Err         error
}

// maxOOFTipRate caps the poller at 2 requests a second: a round that would
// need more (more than 120 batches a minute) takes longer instead.
const maxOOFTipRate = 2

// roundLength is the time one round of n requests takes: the interval, or
// longer when the rate cap demands it.
func roundLength(interval time.Duration, n int) time.Duration {
	return max(interval, time.Duration(n)*time.Second/maxOOFTipRate)
}

// oofPoller polls the tips; it runs on one goroutine.
type oofPoller struct {
	e    *Engine
	r    OOFTipReader
	last map[string]string // mailbox → last fingerprint seen
}

// newOOFPoller returns nil when polling is disabled or not possible.
func newOOFPoller(e *Engine) *oofPoller {
	r, ok := e.ex.(OOFTipReader)
	if !ok || e.opts.OOFPollInterval <= 0 {
		return nil
	}
	// Set before the workers start: while the tips are polled, the
	// per-mailbox OOFInterval refresh is redundant.
	e.env.tipsPolled.Store(true)
	return &oofPoller{e: e, r: r, last: map[string]string{}}
}

func (p *oofPoller) run(ctx context.Context) {
	limit := max(p.r.OOFTipLimit(ctx), 1)
	// If the server turns out not to answer GetMailTips, workers resume
	// their OOFInterval refresh (from their next load, reconciliation or
	// SyncNow on).
	defer p.e.env.tipsPolled.Store(false)
	interval := p.e.opts.OOFPollInterval
	p.e.log.Info("polling automatic replies with mail tips", "interval", interval.String(), "mailboxes_per_request", limit)
	for ctx.Err() == nil {
		start := p.e.clk.Now()
		batches := chunk(p.mailboxes(), limit)
		round := roundLength(interval, len(batches))
		for i, b := range batches {
			// Spread the requests over the round: batch i goes out at
			// start + i*round/len(batches).
			if !p.sleepUntil(ctx, start.Add(time.Duration(i)*round/time.Duration(len(batches)))) {
				return
			}
			if !p.poll(ctx, b) {
				p.e.log.Warn("Exchange does not answer GetMailTips; automatic replies are read only at reconciliation and every oof_interval")
				return
			}
		}
		if !p.sleepUntil(ctx, start.Add(round)) {
			return
		}
	}
}

// mailboxes lists the synced mailboxes and forgets removed ones.
func (p *oofPoller) mailboxes() []string {
	p.e.mu.Lock()
	out := make([]string, 0, len(p.e.workers))
	for s := range p.e.workers {
		out = append(out, s)
	}
	p.e.mu.Unlock()
	slices.Sort(out)
	for s := range p.last {
		if _, ok := slices.BinarySearch(out, s); !ok {
			delete(p.last, s)
		}
	}
	return out
}

// poll asks for one batch's tips and wakes the workers whose tip changed.
// It returns false when the server does not support the operation.
func (p *oofPoller) poll(ctx context.Context, batch []string) bool {
	var tips []OOFTip
	err := p.e.budget.do(ctx, batch[0], "", p.e.opts.CallTimeout, func(ctx context.Context) error {
		var err error
		tips, err = p.r.OOFTips(ctx, batch)
		return err
	})
	p.e.metrics.oofPolls.Inc()
	if err != nil {
		switch ErrorCode(err) {
		case "ErrorInvalidOperation", "ErrorInvalidRequest", "ErrorMailTipsDisabled":
			return false
		}
		if ctx.Err() == nil {
			p.e.log.Info("polling automatic-replies mail tips failed; the next round tries again", "mailboxes", len(batch), "code", ErrorCode(err), "err", Describe(err))
		}
		return true
	}
	for _, t := range tips {
		if t.Err != nil {
			continue
		}
		prev, seen := p.last[t.SMTP]
		p.last[t.SMTP] = t.Fingerprint
		if seen && prev != t.Fingerprint {
			p.e.mu.Lock()
			w := p.e.workers[t.SMTP]
			p.e.mu.Unlock()
			if w != nil {
				p.e.metrics.oofChanges.Inc()
				w.notify(trigOOF)
			}
		}
	}
	return true
}

func (p *oofPoller) sleepUntil(ctx context.Context, at time.Time) bool {
	d := at.Sub(p.e.clk.Now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := p.e.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// chunk splits s into slices of at most n.
func chunk(s []string, n int) [][]string {
	var out [][]string
	for len(s) > 0 {
		k := min(n, len(s))
		out = append(out, s[:k])
		s = s[k:]
	}
	return out
}
