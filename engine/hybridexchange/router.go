// Package hybridexchange serves each mailbox from the side that hosts it:
// Exchange Server over EWS (engine/ewsexchange) or Exchange Online over
// Microsoft Graph (engine/graphexchange). It implements engine.Exchange by
// routing every call of a mailbox to its side, and re-decides the side when
// that side says the mailbox is not there (after a move, item ids do not
// survive: the engine then resubscribes and re-reads on the new side).
//
// The side of a mailbox nobody has decided yet comes from a probe of Graph
// (mailboxSettings): an answer means the cloud; MailboxNotEnabledForRESTAPI
// — or Graph refusing the mailbox (permission, unknown user) — means
// Exchange Server is tried; passing trouble decides nothing yet. The
// wrong side's answers count as a move: MailboxNotEnabledForRESTAPI on
// Graph; ErrorNonExistentMailbox on EWS (a RemoteUserMailbox after the move
// to the cloud). ErrorMailboxMoveInProgress keeps the side (the engine
// waits and rediscovers). The engine must run in pull mode: Graph has no
// streaming.
package hybridexchange

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
)

// Side is where a mailbox lives.
type Side string

// Sides.
const (
	OnPremises Side = "ews"
	Cloud      Side = "graph"
)

// CodeMoved is the engine code of a call that found its mailbox gone to
// the other side; the engine rediscovers (the router answers with the new
// side), resubscribes and re-reads.
const CodeMoved = "MailboxMoved"

// notHere are the codes by which a side says the mailbox is not there.
var notHere = map[Side][]string{
	Cloud:      {"MailboxNotEnabledForRESTAPI"},
	OnPremises: {"ErrorNonExistentMailbox"},
}

// Prober decides the side of a mailbox seen for the first time: the Graph
// side's ZoneReader (engine/graphexchange implements it).
type Prober interface {
	MailboxTimeZone(ctx context.Context, t engine.Target) (string, error)
}

// Router implements engine.Exchange over both sides. Safe for concurrent
// use.
type Router struct {
	sides map[Side]engine.Exchange
	probe Prober
	now   func() time.Time

	mu    sync.Mutex
	where map[string]*placement
}

type placement struct {
	side  Side
	flips []time.Time // recent side changes, to stop a ping-pong
}

// maxFlips side changes within flipWindow: then the mailbox is reported as
// found on neither side instead of being moved again.
const (
	maxFlips   = 3
	flipWindow = 10 * time.Minute
)

var (
	_ engine.Exchange     = (*Router)(nil)
	_ engine.ZoneReader   = (*Router)(nil)
	_ engine.OOFTipReader = (*Router)(nil)
)

// New returns a router over the EWS side onPrem and the Graph side cloud;
// probe decides unknown mailboxes (normally cloud itself).
func New(onPrem, cloud engine.Exchange, probe Prober) *Router {
	return &Router{sides: map[Side]engine.Exchange{OnPremises: onPrem, Cloud: cloud}, probe: probe, now: time.Now,
		where: map[string]*placement{}}
}

// SideOf returns where the router serves smtp, false if not decided yet.
func (r *Router) SideOf(smtp string) (Side, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.where[strings.ToLower(smtp)]
	if !ok {
		return "", false
	}
	return p.side, true
}

// Place sets the side of smtp (from the directory's recipient type, or a
// test).
func (r *Router) Place(smtp string, s Side) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.where[strings.ToLower(smtp)] = &placement{side: s}
}

func (r *Router) side(smtp string) (Side, bool) { return r.SideOf(smtp) }

// observe looks at a side's answer for smtp: a "not here" code moves the
// mailbox to the other side and becomes CodeMoved, unless it flipped too
// often lately, then the answer stays as it is (denied on both sides).
func (r *Router) observe(smtp string, s Side, err error) error {
	if err == nil || !isNotHere(s, err) {
		return err
	}
	other := Cloud
	if s == Cloud {
		other = OnPremises
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	key := strings.ToLower(smtp)
	p := r.where[key]
	if p == nil {
		p = &placement{side: s}
		r.where[key] = p
	}
	if p.side != s { // someone moved it already
		return &engine.ExchangeError{Code: CodeMoved, Err: fmt.Errorf("hybridexchange: %s moved to %s: %w", smtp, p.side, err)}
	}
	recent := p.flips[:0]
	for _, t := range p.flips {
		if now.Sub(t) < flipWindow {
			recent = append(recent, t)
		}
	}
	p.flips = recent
	if len(p.flips) >= maxFlips {
		return err
	}
	p.side = other
	p.flips = append(p.flips, now)
	return &engine.ExchangeError{Code: CodeMoved, Err: fmt.Errorf("hybridexchange: %s is not on %s any more; serving it from %s: %w", smtp, s, other, err)}
}

func isNotHere(s Side, err error) bool {
	code := engine.ErrorCode(err)
	for _, c := range notHere[s] {
		if code == c {
			return true
		}
	}
	return false
}

// passing reports engine codes of trouble that passes (network, timeouts,
// throttling, 5xx): no reason to decide a side.
func passing(err error) bool {
	code := engine.ErrorCode(err)
	switch code {
	case "NetworkError", "Timeout", "ApplicationThrottled", "GraphInvalidResponse":
		return true
	}
	return strings.HasPrefix(code, "HTTP5")
}

// decide returns the side of smtp, probing Graph for a mailbox seen for
// the first time.
func (r *Router) decide(ctx context.Context, smtp string) (Side, error) {
	if s, ok := r.side(smtp); ok {
		return s, nil
	}
	_, err := r.probe.MailboxTimeZone(ctx, engine.Target{SMTP: smtp})
	switch {
	case err == nil:
		r.placeIfUnknown(smtp, Cloud)
	case errors.Is(err, context.Canceled) || passing(err):
		return "", err // ask again later
	default:
		// Not here, or Graph refuses this mailbox (permission, unknown
		// user, credentials): try Exchange Server. A cloud mailbox then
		// answers ErrorNonExistentMailbox there and moves back (bounded).
		r.placeIfUnknown(smtp, OnPremises)
	}
	s, _ := r.side(smtp)
	return s, nil
}

func (r *Router) placeIfUnknown(smtp string, s Side) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.where[strings.ToLower(smtp)]; !ok {
		r.where[strings.ToLower(smtp)] = &placement{side: s}
	}
}

// Discover implements engine.Exchange: each mailbox's side (probing
// unknown ones), then that side's Discover. The side is part of the
// grouping, so a move regroups.
func (r *Router) Discover(ctx context.Context, smtps []string) ([]engine.DiscoverResult, error) {
	out := make([]engine.DiscoverResult, len(smtps))
	bySide := map[Side][]int{}
	for i, s := range smtps {
		side, err := r.decide(ctx, s)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			out[i] = engine.DiscoverResult{SMTP: s, Err: err}
			continue
		}
		bySide[side] = append(bySide[side], i)
	}
	for side, idx := range bySide {
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
				out[i] = engine.DiscoverResult{SMTP: smtps[i], Err: &engine.ExchangeError{Code: "ErrorInvalidResponse", Err: errors.New("hybridexchange: discovery answered fewer mailboxes than asked")}}
				continue
			}
			d := res[j]
			d.SMTP = smtps[i]
			d.GroupingInformation = string(side) + ":" + d.GroupingInformation
			d.Err = r.observe(smtps[i], side, d.Err)
			out[i] = d
		}
	}
	return out, nil
}

// route runs fn on the side of t.SMTP and observes its answer.
func route[T any](r *Router, ctx context.Context, t engine.Target, fn func(engine.Exchange) (T, error)) (T, error) {
	var zero T
	side, err := r.decide(ctx, t.SMTP)
	if err != nil {
		return zero, err
	}
	v, err := fn(r.sides[side])
	if err = r.observe(t.SMTP, side, err); err != nil {
		return zero, err
	}
	return v, nil
}

// CalendarView implements engine.Exchange.
func (r *Router) CalendarView(ctx context.Context, t engine.Target, start, end time.Time, maxEntries int) (engine.ViewPage, error) {
	return route(r, ctx, t, func(x engine.Exchange) (engine.ViewPage, error) {
		return x.CalendarView(ctx, t, start, end, maxEntries)
	})
}

// OOF implements engine.Exchange.
func (r *Router) OOF(ctx context.Context, t engine.Target) (calendar.OOFSettings, error) {
	return route(r, ctx, t, func(x engine.Exchange) (calendar.OOFSettings, error) { return x.OOF(ctx, t) })
}

// Subscribe implements engine.Exchange (pull mode on both sides).
func (r *Router) Subscribe(ctx context.Context, t engine.Target, req engine.SubscribeRequest) (engine.Subscription, error) {
	return route(r, ctx, t, func(x engine.Exchange) (engine.Subscription, error) { return x.Subscribe(ctx, t, req) })
}

// GetEvents implements engine.Exchange.
func (r *Router) GetEvents(ctx context.Context, t engine.Target, subscriptionID, watermark string) (engine.EventBatch, error) {
	return route(r, ctx, t, func(x engine.Exchange) (engine.EventBatch, error) {
		return x.GetEvents(ctx, t, subscriptionID, watermark)
	})
}

// OpenStream implements engine.Exchange: streaming exists on EWS only, and
// the hybrid engine runs in pull mode.
func (r *Router) OpenStream(context.Context, engine.Target, []string, time.Duration) (engine.Stream, error) {
	return nil, &engine.ExchangeError{Code: "ErrorInvalidSubscription", Err: errors.New("hybridexchange: hybrid runs in pull mode; Graph has no streaming")}
}

// Unsubscribe implements engine.Exchange on the mailbox's current side; a
// subscription of the side it left is gone with the mailbox.
func (r *Router) Unsubscribe(ctx context.Context, t engine.Target, subscriptionID string) error {
	side, ok := r.side(t.SMTP)
	if !ok {
		return nil
	}
	return r.sides[side].Unsubscribe(ctx, t, subscriptionID)
}

// MailboxTimeZone implements engine.ZoneReader through the side, when it
// reads zones.
func (r *Router) MailboxTimeZone(ctx context.Context, t engine.Target) (string, error) {
	return route(r, ctx, t, func(x engine.Exchange) (string, error) {
		if z, ok := x.(engine.ZoneReader); ok {
			return z.MailboxTimeZone(ctx, t)
		}
		return "", nil
	})
}

// OOFTipLimit implements engine.OOFTipReader: the smaller of both sides'.
func (r *Router) OOFTipLimit(ctx context.Context) int {
	limit := 0
	for _, x := range r.sides {
		if tr, ok := x.(engine.OOFTipReader); ok {
			if l := tr.OOFTipLimit(ctx); limit == 0 || l < limit {
				limit = l
			}
		}
	}
	return max(limit, 1)
}

// OOFTips implements engine.OOFTipReader: the batch split by side, each
// side asked once, the tips back in input order. A mailbox not decided
// yet, or on a side without tips, gets no fingerprint (it is read at its
// reconciliation).
func (r *Router) OOFTips(ctx context.Context, smtps []string) ([]engine.OOFTip, error) {
	out := make([]engine.OOFTip, len(smtps))
	bySide := map[Side][]int{}
	for i, s := range smtps {
		out[i].SMTP = s
		if side, ok := r.side(s); ok {
			bySide[side] = append(bySide[side], i)
		}
	}
	for side, idx := range bySide {
		tr, ok := r.sides[side].(engine.OOFTipReader)
		if !ok {
			continue
		}
		batch := make([]string, len(idx))
		for j, i := range idx {
			batch[j] = smtps[i]
		}
		tips, err := tr.OOFTips(ctx, batch)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			if j < len(tips) {
				out[i] = tips[j]
				out[i].SMTP = smtps[i]
			}
		}
	}
	return out, nil
}
