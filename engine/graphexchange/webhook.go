package graphexchange

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/graphclient"
)

// WebhookOptions turn on change notifications: each mailbox gets a Graph
// subscription on its events, delivered to NotificationURL (served by
// Client.Receiver). Notifications are hints: they only mark the mailbox,
// and its next GetEvents runs a delta round; without a notification
// GetEvents makes no request, except a delta round every SafetyInterval.
// The engine's pull interval can then be short (seconds).
type WebhookOptions struct {
	// NotificationURL and LifecycleURL are the public HTTPS URLs Graph
	// posts to (LifecycleURL "" = NotificationURL).
	NotificationURL string
	LifecycleURL    string
	// ClientState is the shared secret echoed in every notification
	// (≤128 characters).
	ClientState string
	// Lifetime of a subscription (default 70 h: Outlook allows 10,080
	// minutes now, older documentation 4,230, so the default stays under
	// both) and how long before expiry it is renewed (default a third of
	// the lifetime, at most 1 day).
	Lifetime    time.Duration
	RenewBefore time.Duration
	// SafetyInterval: a delta round at least this often without any
	// notification (default 15 min), since notifications can be lost.
	SafetyInterval time.Duration
}

// DefaultLifetime is a subscription's default lifetime: 4,200 minutes,
// under the 4,230 minutes older Graph documentation gives for Outlook
// events (a longer request is refused with 400) and the 10,080 of the
// current one.
const DefaultLifetime = 4200 * time.Minute

// hooks is the webhook state: which subscription is whose, and which
// mailboxes a notification marked.
type hooks struct {
	opts WebhookOptions
	mu   sync.Mutex
	subs map[string]*hookSub // Graph subscription id → state
	// newest is each mailbox's last created subscription id (it may be
	// gone from subs since).
	newest map[string]string
}

type hookSub struct {
	smtp      string
	expires   time.Time
	dirty     bool
	renew     bool // reauthorizationRequired
	removed   bool // subscriptionRemoved
	lastRound time.Time
}

func newHooks(o WebhookOptions) *hooks {
	if o.LifecycleURL == "" {
		o.LifecycleURL = o.NotificationURL
	}
	if o.Lifetime <= 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.RenewBefore <= 0 || o.RenewBefore >= o.Lifetime {
		o.RenewBefore = min(24*time.Hour, o.Lifetime/3)
	}
	if o.SafetyInterval <= 0 {
		o.SafetyInterval = 15 * time.Minute
	}
	return &hooks{opts: o, subs: map[string]*hookSub{}, newest: map[string]string{}}
}

// Receiver returns the handler for the notification and lifecycle URLs;
// nil without webhooks.
func (x *Client) Receiver() *graphclient.Receiver {
	if x.hooks == nil {
		return nil
	}
	return &graphclient.Receiver{ClientState: x.hooks.opts.ClientState, Deliver: x.hooks.deliver}
}

// deliver marks the mailboxes the notifications name (queue only).
func (h *hooks) deliver(ns []graph.Notification) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range ns {
		s := h.subs[n.SubscriptionID]
		if s == nil {
			continue // not ours (any more)
		}
		switch n.Lifecycle {
		case graph.LifecycleSubscriptionRemoved:
			s.removed = true
		case graph.LifecycleReauthorizationRequired:
			s.renew, s.dirty = true, true // changes in a pause are lost: read
		default: // a change, or "missed"
			s.dirty = true
		}
	}
}

// subscribeHook returns the mailbox's Graph subscription: the one it has
// when that is alive (the engine subscribes again after a lost delta
// token, a denial or a rediscovery, none of which ends the subscription on
// Graph; a new one each time would leave the old ones delivering until
// they expire, counting towards Graph's 1,000 per mailbox), else a new one.
func (x *Client) subscribeHook(ctx context.Context, smtp string) (string, error) {
	if id, ok := x.hooks.alive(smtp, x.clock.Now()); ok {
		return id, nil
	}
	o := x.hooks.opts
	sub, err := x.c.CreateSubscription(ctx, smtp, graph.Subscription{Resource: graphclient.EventsResource(smtp),
		NotificationURL: o.NotificationURL, LifecycleNotificationURL: o.LifecycleURL,
		Expiration: x.clock.Now().Add(o.Lifetime), ClientState: o.ClientState})
	if err != nil {
		return "", classify("createSubscription", err)
	}
	x.hooks.mu.Lock()
	x.hooks.subs[sub.ID] = &hookSub{smtp: strings.ToLower(smtp), expires: sub.Expiration, lastRound: x.clock.Now()}
	x.hooks.newest[strings.ToLower(smtp)] = sub.ID
	x.hooks.mu.Unlock()
	return sub.ID, nil
}

// alive returns the id of smtp's subscription if it is neither removed nor
// expired.
func (h *hooks) alive(smtp string, now time.Time) (string, bool) {
	smtp = strings.ToLower(smtp)
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.newest[smtp]
	if s := h.subs[id]; s != nil && s.smtp == smtp && !s.removed && now.Before(s.expires) {
		return id, true
	}
	delete(h.newest, smtp)
	return "", false
}

// EndSubscriptions deletes mailbox smtp's webhook subscriptions: a
// mailbox that left Exchange Online (hybridexchange) would otherwise keep
// its subscription until it expires (up to Lifetime). Without webhooks it
// does nothing.
func (x *Client) EndSubscriptions(ctx context.Context, smtp string) error {
	if x.hooks == nil {
		return nil
	}
	smtp = strings.ToLower(smtp)
	x.hooks.mu.Lock()
	delete(x.hooks.newest, smtp)
	var ids []string
	for id, s := range x.hooks.subs {
		if s.smtp == smtp {
			ids = append(ids, id)
			delete(x.hooks.subs, id)
		}
	}
	x.hooks.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if err := x.c.DeleteSubscription(ctx, smtp, id); err != nil {
			errs = append(errs, classify("deleteSubscription", err))
		}
	}
	return errors.Join(errs...)
}

// errSubscriptionGone makes the engine resubscribe and re-read.
func errSubscriptionGone(why string) error {
	return &engine.ExchangeError{Code: "ErrorSubscriptionNotFound", Err: errors.New("graphexchange: " + why)}
}

// hookDue decides whether GetEvents must run a delta round now, renewing
// the subscription on the way. false: nothing to do, no request made.
func (x *Client) hookDue(ctx context.Context, t engine.Target, id string) (bool, error) {
	h := x.hooks
	now := x.clock.Now()
	h.mu.Lock()
	s := h.subs[id]
	if s == nil || s.removed || s.smtp != strings.ToLower(t.SMTP) {
		delete(h.subs, id)
		h.mu.Unlock()
		return false, errSubscriptionGone("subscription " + id + " is not known (removed by Graph, or from before a restart)")
	}
	renew := s.renew || s.expires.Sub(now) < h.opts.RenewBefore
	due := s.dirty || now.Sub(s.lastRound) >= h.opts.SafetyInterval
	if due {
		s.dirty, s.lastRound = false, now
	}
	h.mu.Unlock()
	if renew {
		sub, err := x.c.RenewSubscription(ctx, t.SMTP, id, now.Add(h.opts.Lifetime))
		if graph.Classify(err) == graph.ClassNotFound {
			h.forget(id)
			return false, errSubscriptionGone("Graph no longer knows subscription " + id)
		}
		if err != nil {
			h.markDirty(id, due)
			return false, classify("renewSubscription", err)
		}
		h.mu.Lock()
		if s := h.subs[id]; s != nil {
			s.expires, s.renew = sub.Expiration, false
		}
		h.mu.Unlock()
	}
	return due, nil
}

// markDirty restores a mark taken by a round that did not run.
func (h *hooks) markDirty(id string, dirty bool) {
	if !dirty {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.subs[id]; s != nil {
		s.dirty = true
	}
}

func (h *hooks) forget(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, id)
}
