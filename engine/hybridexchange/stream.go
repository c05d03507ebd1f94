package hybridexchange

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/engine"
)

// Graph has no streaming notifications; in the engine's streaming mode a
// cloud mailbox's subscription is a delta chain the router polls, and its
// "stream" reports what each poll found as notifications. The engine then
// treats cloud and EWS mailboxes alike (hints, coalescing, re-reads,
// renewals, failures).

// polledPrefix marks the router's own subscription ids: "graph-delta:<smtp>".
const polledPrefix = "graph-delta:"

// heartbeat is the longest a polled stream stays silent: Exchange beats
// every 45 s and the engine replaces a stream silent for HeartbeatTimeout.
const heartbeat = 45 * time.Second

func isPolledID(id string) bool { return strings.HasPrefix(id, polledPrefix) }

// subscribePolled starts a delta chain for a cloud mailbox.
func (r *Router) subscribePolled(ctx context.Context, t engine.Target) (engine.Subscription, error) {
	sub, err := r.sides[Cloud].Subscribe(ctx, t, engine.SubscribeRequest{Mode: engine.Pull})
	if err != nil {
		return engine.Subscription{}, r.outcome(ctx, Cloud, t.SMTP, err)
	}
	id := polledPrefix + normalize(t.SMTP)
	r.mu.Lock()
	r.chains[id] = sub
	r.mu.Unlock()
	return engine.Subscription{ID: id}, nil
}

func (r *Router) forgetChain(id string) (engine.Subscription, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sub, ok := r.chains[id]
	delete(r.chains, id)
	r.stopPollingLocked(id)
	return sub, ok
}

func (r *Router) chain(id string) (engine.Subscription, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sub, ok := r.chains[id]
	return sub, ok
}

// openPolled opens a polled stream for ids, which it takes from the
// streams that named them before, as Exchange moves a subscription to the
// newest GetStreamingEvents connection that names it: an older stream
// polls them no more, and one left with none ends with ConnectionStatus
// Closed, as Exchange closes a connection whose subscriptions a newer one
// took. The engine's renewals and rebuilds are made before break
// (engine/stream_conn.go): the old connection ending Closed tells it
// that nothing is missing, and its members read nothing. That holds here:
// a round the old stream polled is reported in that round's message,
// which the old connection dispatches before it reads the Closed, and
// what no round polled yet stays in the delta chain (Router.chains, one
// per id, shared by every stream), which the new stream polls. Before,
// nothing ended the old stream: the engine cut it after 5 s and every
// cloud member re-read at every renewal.
func (r *Router) openPolled(t engine.Target, ids []string) *polledStream {
	p := &polledStream{r: r, t: t, ids: append([]string(nil), ids...), closed: make(chan struct{}), taken: make(chan struct{})}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range p.ids {
		if r.polling[id] == p {
			continue // named twice
		}
		r.stopPollingLocked(id)
		r.polling[id] = p
		p.polled++
	}
	return p
}

// stopPollingLocked takes id from the stream that polls it (a newer one
// opens, the subscription ended, the stream closed); a stream left with
// no id is taken. r.mu must be held.
func (r *Router) stopPollingLocked(id string) {
	s := r.polling[id]
	if s == nil {
		return
	}
	delete(r.polling, id)
	s.polled--
	if s.polled == 0 {
		close(s.taken)
	}
}

// polls reports whether p is the stream that polls id now.
func (r *Router) polls(p *polledStream, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.polling[id] == p
}

// polledStream is a cloud mailbox group's "streaming connection".
type polledStream struct {
	r   *Router
	t   engine.Target
	ids []string // owned by Next's caller (one reader, as for EWS streams)

	started  bool
	lastPoll time.Time
	once     sync.Once
	closed   chan struct{}
	// polled counts the ids this stream polls (guarded by r.mu); taken
	// closes when newer streams took them all.
	polled int
	taken  chan struct{}
}

// errClosed is Next's answer after Close.
var errClosed = errors.New("hybridexchange: polled stream closed")

// Next implements engine.Stream: "OK" at once (the connection is open),
// then one message per poll or heartbeat.
func (p *polledStream) Next(ctx context.Context) (engine.StreamMessage, error) {
	if !p.started {
		p.started = true
		p.lastPoll = p.r.clk.Now()
		return engine.StreamMessage{Status: "OK"}, nil
	}
	wait := min(p.r.opts.PollInterval, heartbeat)
	if due := p.lastPoll.Add(p.r.opts.PollInterval).Sub(p.r.clk.Now()); due < wait {
		wait = max(due, 0)
	}
	t := p.r.clk.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return engine.StreamMessage{}, ctx.Err()
	case <-p.closed:
		return engine.StreamMessage{}, errClosed
	case <-p.taken:
		return engine.StreamMessage{Status: "Closed"}, nil
	case <-t.C():
	}
	msg := engine.StreamMessage{Status: "OK"}
	if now := p.r.clk.Now(); now.Sub(p.lastPoll) >= p.r.opts.PollInterval {
		p.lastPoll = now
		p.poll(ctx, &msg)
	}
	return msg, ctx.Err()
}

// poll runs one delta round per subscription. Passing trouble (throttling,
// network, credentials) waits for the next round, as graphclient already
// honours Retry-After; anything else drops the subscription from the
// stream with its error, and the engine recovers the mailbox by code.
func (p *polledStream) poll(ctx context.Context, msg *engine.StreamMessage) {
	keep := p.ids[:0]
	for _, id := range p.ids {
		if !p.r.polls(p, id) {
			continue // a newer stream took it (openPolled)
		}
		smtp := strings.TrimPrefix(id, polledPrefix)
		t := engine.Target{SMTP: smtp}
		sub, known := p.r.chain(id)
		var b engine.EventBatch
		var err error
		if !known {
			// A chain this process did not start (a restart): start one;
			// what changed meanwhile is unknown, so report a change.
			sub, err = p.r.sides[Cloud].Subscribe(ctx, t, engine.SubscribeRequest{Mode: engine.Pull})
			b = engine.EventBatch{Watermark: sub.Watermark, Events: []engine.Event{{Kind: engine.EventModified}}}
		} else {
			b, err = p.r.sides[Cloud].GetEvents(ctx, t, sub.ID, sub.Watermark)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			err = p.r.outcome(ctx, Cloud, smtp, err)
			if passing(engine.ErrorCode(err)) {
				keep = append(keep, id)
				continue
			}
			p.r.forgetChain(id)
			msg.Failures = append(msg.Failures, engine.StreamFailure{Err: err, SubscriptionIDs: []string{id}})
			continue
		}
		keep = append(keep, id)
		if b.Watermark != "" {
			sub.Watermark = b.Watermark
		}
		p.r.mu.Lock()
		if _, ok := p.r.chains[id]; ok || !known {
			p.r.chains[id] = sub // not when the engine unsubscribed meanwhile
		}
		p.r.mu.Unlock()
		for _, ev := range b.Events {
			if ev.Kind != engine.EventStatus {
				msg.Notifications = append(msg.Notifications, engine.Notification{SubscriptionID: id, Events: []engine.Event{{Kind: engine.EventModified, TimeStamp: p.r.clk.Now()}}})
				break
			}
		}
	}
	p.ids = keep
}

// passing reports codes that a later round may not see again.
func passing(code string) bool {
	switch code {
	case "ApplicationThrottled", "HTTP503", "HTTP429", "HTTP401", "NetworkError", "Timeout", "GraphInvalidResponse":
		return true
	}
	return false
}

// Close implements engine.Stream.
func (p *polledStream) Close() error {
	p.once.Do(func() {
		close(p.closed)
		p.r.mu.Lock()
		for _, id := range p.ids {
			if p.r.polling[id] == p {
				p.r.stopPollingLocked(id)
			}
		}
		p.r.mu.Unlock()
	})
	return nil
}
