package hybridexchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/internal/clock"
)

// Side is where a mailbox lives; its values are the config sections
// (and the API's hosted_on).
type Side string

// The two sides.
const (
	OnPremises Side = "exchange"        // Exchange Server, over EWS
	Cloud      Side = "exchange_online" // Exchange Online, over Graph
)

func (s Side) other() Side {
	if s == Cloud {
		return OnPremises
	}
	return Cloud
}

// Codes this package reports (engine/recovery_hybrid.go says what the
// engine does about them).
const (
	CodeMoved    = "MailboxMoved"
	CodeNotFound = "HybridMailboxNotFound"
)

// DocumentStore keeps the decisions; store.Store satisfies it.
type DocumentStore interface {
	SaveDocument(ctx context.Context, name string, doc []byte) error
	LoadDocument(ctx context.Context, name string) ([]byte, error)
}

// Options configure a Router; zero values are defaults.
type Options struct {
	// Store keeps the decided sides across restarts (nil: not kept).
	Store DocumentStore
	// Hint is the directory's word on a mailbox ("" when it has none),
	// e.g. from msExchRecipientTypeDetails. It decides an undecided
	// mailbox without asking either side.
	Hint func(smtp string) Side
	// PollInterval is how often a cloud mailbox's delta is polled in the
	// engine's streaming mode (default 30 s).
	PollInterval time.Duration
	// ProbeConcurrency bounds the mailboxes asked about at once (default 8).
	ProbeConcurrency int
	Clock            clock.Clock
	Logger           *slog.Logger
}

// Router implements engine.Exchange (with ZoneReader and OOFTipReader)
// over both sides. Safe for concurrent use.
type Router struct {
	sides map[Side]engine.Exchange
	opts  Options
	log   *slog.Logger
	clk   clock.Clock

	mu      sync.Mutex
	decided map[string]Side                // normalised address → side
	suspect map[string]bool                // stopped answering on its side: ask again
	neither map[string]error               // neither side serves it (last answer)
	dirty   bool                           // decided changed since the last save
	chains  map[string]engine.Subscription // polled id → the Graph side's subscription (stream.go)
	polling map[string]*polledStream       // polled id → the newest stream that names it (stream.go)
}

var (
	_ engine.Exchange     = (*Router)(nil)
	_ engine.ZoneReader   = (*Router)(nil)
	_ engine.OOFTipReader = (*Router)(nil)
)

// New returns a router over the EWS side ews and the Graph side graph
// (engine/ewsexchange and engine/graphexchange; their ZoneReader and
// OOFTipReader are used when they have them). Call Load before the engine
// starts to resume the kept decisions.
func New(ews, graph engine.Exchange, opts *Options) *Router {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 30 * time.Second
	}
	if o.ProbeConcurrency <= 0 {
		o.ProbeConcurrency = 8
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Router{
		sides: map[Side]engine.Exchange{OnPremises: ews, Cloud: graph}, opts: o, log: o.Logger, clk: o.Clock,
		decided: map[string]Side{}, suspect: map[string]bool{}, neither: map[string]error{}, chains: map[string]engine.Subscription{},
		polling: map[string]*polledStream{},
	}
}

func normalize(smtp string) string { return strings.ToLower(strings.TrimSpace(smtp)) }

// HostedOn returns the side serving smtp, "" while undecided or when
// neither side serves it.
func (r *Router) HostedOn(smtp string) Side {
	s, _ := r.SideOf(smtp)
	return s
}

// SideOf returns the side serving smtp, false while undecided.
func (r *Router) SideOf(smtp string) (Side, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.decided[normalize(smtp)]
	return s, ok
}

// Place decides the side of smtp (tests; the directory's word goes
// through Options.Hint).
func (r *Router) Place(smtp string, s Side) { r.decide(smtp, s) }

// side returns the side to send smtp's calls to, and the error to answer
// instead when neither side served it at the last look.
func (r *Router) side(smtp string) (Side, error) {
	key := normalize(smtp)
	r.mu.Lock()
	s, ok := r.decided[key]
	nerr := r.neither[key]
	r.mu.Unlock()
	switch {
	case ok:
		return s, nil
	case nerr != nil:
		return "", nerr
	}
	if r.opts.Hint != nil {
		if h := r.opts.Hint(smtp); h == OnPremises || h == Cloud {
			return h, nil
		}
	}
	// Undecided: the engine discovers before anything else, so this is
	// rare (a call racing a decision); on premises is the old default.
	return OnPremises, nil
}

// notHere reports whether code is the side's answer for a mailbox it does
// not host.
func notHere(s Side, code string) bool {
	switch s {
	case OnPremises:
		return code == "ErrorNonExistentMailbox"
	case Cloud:
		return code == "MailboxNotEnabledForRESTAPI"
	}
	return false
}

// outcome turns a side's error for smtp into the engine's: a mailbox the
// side no longer hosts is MailboxMoved (and will be asked about at
// the next Discover), a move in progress is passed on but remembered.
func (r *Router) outcome(ctx context.Context, s Side, smtp string, err error) error {
	if err == nil {
		return nil
	}
	code := engine.ErrorCode(err)
	switch {
	case notHere(s, code):
		r.markSuspect(smtp)
		if s == Cloud {
			r.endCloudSubscriptions(ctx, smtp)
		}
		return &engine.ExchangeError{Code: CodeMoved, Err: fmt.Errorf("hybridexchange: %s no longer answers on %s: %w", smtp, s, err)}
	case code == "ErrorMailboxMoveInProgress":
		r.markSuspect(smtp)
	}
	return err
}

// subscriptionEnder is the Graph side's way to end a mailbox's change
// notifications (graphexchange.Client in webhook mode).
type subscriptionEnder interface {
	EndSubscriptions(ctx context.Context, smtp string) error
}

// endCloudSubscriptions deletes the Graph subscriptions of a mailbox that
// left Exchange Online: the engine only forgets them, and Graph would keep
// them (and count them against the mailbox's quota) until they expire.
func (r *Router) endCloudSubscriptions(ctx context.Context, smtp string) {
	e, ok := r.sides[Cloud].(subscriptionEnder)
	if !ok {
		return
	}
	if err := e.EndSubscriptions(ctx, smtp); err != nil {
		r.log.Info("ending the Graph subscription of a mailbox that left Exchange Online failed (it will expire)", "smtp", smtp, "err", err)
	}
}

func (r *Router) markSuspect(smtp string) {
	r.mu.Lock()
	r.suspect[normalize(smtp)] = true
	r.mu.Unlock()
}

// CalendarView implements engine.Exchange.
func (r *Router) CalendarView(ctx context.Context, t engine.Target, start, end time.Time, maxEntries int) (engine.ViewPage, error) {
	s, err := r.side(t.SMTP)
	if err != nil {
		return engine.ViewPage{}, err
	}
	p, err := r.sides[s].CalendarView(ctx, t, start, end, maxEntries)
	return p, r.outcome(ctx, s, t.SMTP, err)
}

// OOF implements engine.Exchange.
func (r *Router) OOF(ctx context.Context, t engine.Target) (calendar.OOFSettings, error) {
	s, err := r.side(t.SMTP)
	if err != nil {
		return calendar.OOFSettings{}, err
	}
	o, err := r.sides[s].OOF(ctx, t)
	return o, r.outcome(ctx, s, t.SMTP, err)
}

// MailboxTimeZone implements engine.ZoneReader through the side, when it
// reads zones.
func (r *Router) MailboxTimeZone(ctx context.Context, t engine.Target) (string, error) {
	s, err := r.side(t.SMTP)
	if err != nil {
		return "", err
	}
	zr, ok := r.sides[s].(engine.ZoneReader)
	if !ok {
		return "", nil
	}
	z, err := zr.MailboxTimeZone(ctx, t)
	return z, r.outcome(ctx, s, t.SMTP, err)
}

// Subscribe implements engine.Exchange. A cloud mailbox asked for a
// streaming subscription gets a delta chain the router polls (stream.go).
func (r *Router) Subscribe(ctx context.Context, t engine.Target, req engine.SubscribeRequest) (engine.Subscription, error) {
	s, err := r.side(t.SMTP)
	if err != nil {
		return engine.Subscription{}, err
	}
	if s == Cloud && req.Mode == engine.Streaming {
		return r.subscribePolled(ctx, t)
	}
	sub, err := r.sides[s].Subscribe(ctx, t, req)
	return sub, r.outcome(ctx, s, t.SMTP, err)
}

// GetEvents implements engine.Exchange (pull mode).
func (r *Router) GetEvents(ctx context.Context, t engine.Target, id, watermark string) (engine.EventBatch, error) {
	s, err := r.side(t.SMTP)
	if err != nil {
		return engine.EventBatch{}, err
	}
	b, err := r.sides[s].GetEvents(ctx, t, id, watermark)
	return b, r.outcome(ctx, s, t.SMTP, err)
}

// OpenStream implements engine.Exchange: EWS streams, or the router's
// delta poll for cloud mailboxes (a group never mixes the sides: their
// routing differs).
func (r *Router) OpenStream(ctx context.Context, t engine.Target, ids []string, timeout time.Duration) (engine.Stream, error) {
	if len(ids) > 0 && isPolledID(ids[0]) {
		return r.openPolled(t, ids), nil
	}
	s, err := r.side(t.SMTP)
	if err != nil {
		return nil, err
	}
	if s == Cloud {
		// Subscriptions of the EWS side on a mailbox now in the cloud (a
		// restart right after a move): they are gone.
		return nil, &engine.ExchangeError{Code: "ErrorSubscriptionNotFound", Err: errors.New("hybridexchange: EWS subscriptions of a mailbox that moved to Exchange Cloud")}
	}
	st, err := r.sides[OnPremises].OpenStream(ctx, t, ids, timeout)
	return st, r.outcome(ctx, OnPremises, t.SMTP, err)
}

// Unsubscribe implements engine.Exchange on the side the subscription
// belongs to.
func (r *Router) Unsubscribe(ctx context.Context, t engine.Target, id string) error {
	if isPolledID(id) {
		if sub, ok := r.forgetChain(id); ok {
			return r.sides[Cloud].Unsubscribe(ctx, t, sub.ID)
		}
		return nil
	}
	s, err := r.side(t.SMTP)
	if err != nil {
		return nil // nothing of ours exists for it any more
	}
	return r.sides[s].Unsubscribe(ctx, t, id)
}
