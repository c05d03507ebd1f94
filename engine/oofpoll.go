package engine

// Automatic replies raise no notification. Instead of reading every
// mailbox's settings often (one GetUserOofSettings each), the poller asks
// for the automatic-replies mail tip of many mailboxes per request
// (GetMailTips, up to the server's per-request limit) once per
// OOFPollInterval, spread over it in bursts (oofpoll_burst.go), and wakes only the workers whose
// tip changed; they read the full settings. A mailbox's load reads no
// settings while tips are polled: its first tip says whether replies are
// on, and only then is it read (at 50 per request, 0.02 requests per
// mailbox instead of 1). A tip shows replies that are on now (ews-facts
// 6.2): scheduled replies that have not started yet show in no tip; they
// are read when they start (the tip turns on) or at the reconciliation's
// full read, whichever comes first.
//
// The interval is the promise (a change is seen within about one
// interval); the request rate follows from it, the mailbox count and the
// server's limit: ceil(mailboxes/limit) requests per interval. At 10,000
// mailboxes and 60 s that is 3.3 requests/s with a limit of 50 and 1.7/s
// with 100. There is no hidden cap that would stretch the round and break
// the promise: an operator who wants fewer requests sets a longer
// interval (docs/presence.md has the table).

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// OOFTipReader is implemented by an Exchange that can poll the
// automatic-replies mail tips of many mailboxes in one request
// (engine/ewsexchange: GetMailTips). It is optional.
type OOFTipReader interface {
	// OOFTipLimit returns how many mailboxes one OOFTips call may carry:
	// the server's own limit where it reports one.
	OOFTipLimit(ctx context.Context) int
	// OOFTips returns one tip per mailbox, in order. The error is for the
	// whole call; a mailbox's own error is in its tip.
	OOFTips(ctx context.Context, smtps []string) ([]OOFTip, error)
}

// OOFTipMemoReader is an OOFTipReader that can tell, without decoding it,
// an answer identical to one it gave before (engine/ewsexchange). It is
// optional. While nobody changes their automatic replies every round's
// answers are the previous round's, and decoding them was most of an
// idle engine's CPU.
type OOFTipMemoReader interface {
	// OOFTipsSince is OOFTips that also returns a memo of the answer
	// (0 = none). When since is the memo an earlier call for the same
	// mailboxes returned and the answer is the same, it returns
	// (nil, since, nil): every tip is what that call returned.
	OOFTipsSince(ctx context.Context, smtps []string, since uint64) ([]OOFTip, uint64, error)
}

// OOFTip is what a mail tip says about one mailbox's automatic replies.
type OOFTip struct {
	SMTP string
	// Fingerprint changes whenever the tip does ("" = replies off).
	Fingerprint string
	Err         error
}

// OOFRound is the cost of one polling round.
type OOFRound struct {
	Mailboxes  int
	PerRequest int // the server's limit
	Requests   int // GetMailTips per round: ceil(Mailboxes/PerRequest)
	Interval   time.Duration
}

// PlanOOFRound returns the round for n mailboxes at limit recipients per
// request and the given interval.
func PlanOOFRound(n, limit int, interval time.Duration) OOFRound {
	limit = max(limit, 1)
	return OOFRound{Mailboxes: n, PerRequest: limit, Requests: (n + limit - 1) / limit, Interval: interval}
}

// RequestsPerSecond is the round's GetMailTips rate.
func (r OOFRound) RequestsPerSecond() float64 {
	if r.Interval <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Interval.Seconds()
}

// oofPoller polls the tips; it runs on one goroutine.
type oofPoller struct {
	e     *Engine
	r     OOFTipReader
	last  map[string]string // mailbox → last fingerprint seen
	memos []uint64          // batch i → memo of its last answer (OOFTipMemoReader)
	limit int               // recipients per request; 0 = ask the server
	round OOFRound          // the last round logged
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
	// If the server turns out not to answer GetMailTips, workers resume
	// their OOFInterval refresh (from their next load, reconciliation or
	// SyncNow on).
	defer p.e.env.tipsPolled.Store(false)
	interval := p.e.opts.OOFPollInterval
	for ctx.Err() == nil {
		start := p.e.clk.Now()
		if p.limit == 0 {
			p.limit = max(p.r.OOFTipLimit(ctx), 1)
		}
		mbs := p.mailboxes()
		p.logRound(PlanOOFRound(len(mbs), p.limit, interval))
		batches := chunk(mbs, p.limit)
		if len(p.memos) != len(batches) {
			// A memo only ever matches an answer to the same request, so
			// the ones kept for shifted batches cost one decode each.
			p.memos = append(make([]uint64, 0, len(batches)), p.memos[:min(len(p.memos), len(batches))]...)[:len(batches)]
		}
		for _, b := range planBursts(len(batches), interval, oofBurstEvery) {
			if !p.sleepUntil(ctx, start.Add(b.at)) {
				return
			}
			if !p.pollBurst(ctx, batches[b.from:b.to], p.memos[b.from:b.to]) {
				p.e.log.Warn("Exchange does not answer GetMailTips; automatic replies are read only at reconciliation and every oof_interval")
				p.e.env.tipsPolled.Store(false)
				p.wakeAll()
				return
			}
		}
		if !p.sleepUntil(ctx, start.Add(interval)) {
			return
		}
	}
}

// logRound says what polling costs, whenever that changes.
func (p *oofPoller) logRound(r OOFRound) {
	if r == p.round {
		return
	}
	p.round = r
	p.e.log.Info("polling automatic replies with mail tips", "mailboxes", r.Mailboxes, "mailboxes_per_request", r.PerRequest,
		"requests_per_round", r.Requests, "interval", r.Interval.String(), "requests_per_second", fmt.Sprintf("%.2f", r.RequestsPerSecond()))
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

// tipAnswer is what one request for a batch's tips brought.
type tipAnswer struct {
	tips []OOFTip
	err  error
}

// fetch asks for one batch's tips. memo is the batch's memo of its last
// answer (OOFTipMemoReader). It only reads the poller's state, so the
// requests of a burst run together (oofpoll_burst.go).
func (p *oofPoller) fetch(ctx context.Context, batch []string, memo *uint64) tipAnswer {
	var a tipAnswer
	// A batch: its round trip is no latency sample (budget_batch.go).
	a.err = p.e.budget.do(withoutLatencySample(ctx), batch[0], "", p.e.opts.CallTimeout, func(ctx context.Context) error {
		var err error
		a.tips, err = p.tips(ctx, batch, memo)
		return err
	})
	p.e.metrics.oofPolls.Inc()
	return a
}

// apply takes one batch's answer and wakes the workers whose tip changed.
// It returns false when the server does not support the operation.
func (p *oofPoller) apply(ctx context.Context, batch []string, a tipAnswer, memo *uint64) bool {
	tips, err := a.tips, a.err
	if err != nil {
		*memo = 0
		switch ErrorCode(err) {
		case "ErrorInvalidOperation", "ErrorInvalidRequest", "ErrorMailTipsDisabled":
			return false
		case "ErrorExceededMaxRecipientLimit":
			// The server's limit went down (or it reported none and the
			// default is too many): ask it again and never reuse a size it
			// refused; the next round is cut to the new size.
			p.limit = min(max(p.r.OOFTipLimit(ctx), 1), max(len(batch)/2, 1))
		}
		if ctx.Err() == nil {
			p.e.log.Info("polling automatic-replies mail tips failed; the next round tries again", "mailboxes", len(batch), "code", ErrorCode(err), "err", Describe(err))
		}
		return true
	}
	for _, t := range tips {
		prev, seen := p.last[t.SMTP]
		if t.Err != nil {
			if !seen {
				// No baseline and no load-time read to fall back on: the
				// worker reads the settings itself, once; the next good
				// tip differs from this marker and is read again.
				p.last[t.SMTP] = tipFailed
				p.wake(t.SMTP)
			}
			continue
		}
		p.last[t.SMTP] = t.Fingerprint
		changed := seen && prev != t.Fingerprint
		if !seen {
			changed = p.differsFromStored(ctx, t)
		}
		if changed {
			p.wake(t.SMTP)
		}
	}
	return true
}

// tips asks for the batch's tips. With a reader that keeps memos, an
// answer that is the batch's last one returns no tips: each mailbox's
// tip is the one p.last holds, since the last answer was decoded into it.
// That holds only while every mailbox of the batch has its tip in p.last
// (a mailbox removed and added again in the meantime needs its first tip
// compared with its stored settings); otherwise the answer is decoded.
func (p *oofPoller) tips(ctx context.Context, batch []string, memo *uint64) ([]OOFTip, error) {
	mr, ok := p.r.(OOFTipMemoReader)
	if !ok {
		return p.r.OOFTips(ctx, batch)
	}
	since := *memo
	for _, s := range batch {
		if _, seen := p.last[s]; !seen {
			since = 0
			break
		}
	}
	tips, m, err := mr.OOFTipsSince(ctx, batch, since)
	*memo = m
	return tips, err
}

// tipFailed is the baseline of a mailbox whose first tip was an error; no
// fingerprint equals it.
const tipFailed = "\x00failed"

// wake makes one mailbox's worker read its automatic replies.
func (p *oofPoller) wake(smtp string) {
	p.e.mu.Lock()
	w := p.e.workers[smtp]
	p.e.mu.Unlock()
	if w != nil {
		p.e.metrics.oofChanges.Inc()
		w.notify(trigOOF)
	}
}

// wakeAll makes every worker read its automatic replies: the poller gave
// up, and the loads skipped that read because tips were to tell.
func (p *oofPoller) wakeAll() {
	p.e.mu.Lock()
	ws := make([]*worker, 0, len(p.e.workers))
	for _, w := range p.e.workers {
		ws = append(ws, w)
	}
	p.e.mu.Unlock()
	for _, w := range ws {
		w.notify(trigOOF)
	}
}

// differsFromStored compares a mailbox's first tip with the settings its
// worker stored: a change made after the worker's read and before this
// first tip would otherwise become the baseline and wait for the
// reconciliation. A mailbox with no stored settings (its load reads none
// while tips are polled) counts as "replies off": a tip that shows them
// on makes the worker read them. The worker leaves what it stored in the
// status table (oofpoll_digest.go); only a worker that has not started
// yet makes the poller read the store.
func (p *oofPoller) differsFromStored(ctx context.Context, t OOFTip) bool {
	now := p.e.clk.Now()
	if active, known := p.e.statuses.storedOOFActive(t.SMTP, now); known {
		return active != (t.Fingerprint != "")
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	rec, err := p.e.st.Mailbox(sctx, t.SMTP)
	if err != nil || rec.OOF == nil {
		return t.Fingerprint != ""
	}
	return rec.OOF.ActiveAt(now) != (t.Fingerprint != "")
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
