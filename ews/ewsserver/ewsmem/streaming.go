package ewsmem

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// maxEventsPerEnvelope is how many events one streaming envelope carries.
const maxEventsPerEnvelope = 100

// streamConn is one open GetStreamingEvents connection.
type streamConn struct {
	x        *Exchange
	subs     []*subscription
	release  func()
	wakeC    chan struct{}
	deadline time.Time

	mu       sync.Mutex
	pending  []ewsserver.StreamMessage // error envelopes to send first
	started  bool
	closing  bool
	closed   bool
	dropped  bool
	silent   bool
	lastBeat time.Time
}

func (s *streamConn) wake() {
	select {
	case s.wakeC <- struct{}{}:
	default:
	}
}

func (s *streamConn) closeSoon() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.wake()
}

func (s *streamConn) drop() {
	s.mu.Lock()
	s.dropped = true
	s.mu.Unlock()
	s.wake()
}

// OpenStream implements ewsserver.BackendNotifications.
func (x *Exchange) OpenStream(ctx context.Context, c *ewsserver.Caller, ids []string, timeout time.Duration) (ewsserver.Stream, error) {
	if timeout < time.Minute || timeout > 30*time.Minute {
		return nil, ewsserver.Fault(ews.ErrorSchemaValidation, "The request failed schema validation: ConnectionTimeout must be between 1 and 30.")
	}
	if len(ids) == 0 {
		return nil, ewsserver.Fault(ews.ErrorSchemaValidation, "The request failed schema validation: SubscriptionIds is empty.")
	}
	release, terr := x.throttle.openStreaming(budgetKey(c))
	if terr != nil {
		return nil, terr.asError()
	}
	routed := x.route(c)
	conn := &streamConn{x: x, release: release, wakeC: make(chan struct{}, 1), deadline: x.clock.Now().Add(timeout)}
	x.subs.mu.Lock()
	failed := map[ews.ResponseCode][]string{}
	var order []ews.ResponseCode
	for _, id := range ids {
		s, err := x.lookupLocked(c, id, routed, len(ids) > 1)
		if err == nil {
			switch {
			case s.kind != ews.SubscriptionStreaming:
				err = ewsserver.Fail(ews.ErrorInvalidSubscription, "The subscription is not a streaming subscription.")
			case s.owner != strings.ToLower(c.Account):
				err = ewsserver.Fail(ews.ErrorSubscriptionAccessDenied, "The subscription belongs to another account.")
			}
		}
		if err != nil {
			code := err.(*ews.ResponseError).Code
			if _, seen := failed[code]; !seen {
				order = append(order, code)
			}
			failed[code] = append(failed[code], id)
			continue
		}
		if s.conn != nil && s.conn != conn {
			old := s.conn
			old.detachLocked(s)
		}
		s.conn = conn
		conn.subs = append(conn.subs, s)
	}
	x.subs.conns[conn] = true
	x.subs.mu.Unlock()
	for _, code := range order {
		conn.pending = append(conn.pending, ewsserver.StreamMessage{Err: ewsserver.Fail(code, messageFor(code)), ErrorIDs: failed[code]})
	}
	if len(conn.subs) == 0 && len(conn.pending) > 0 {
		// No valid subscription: Exchange answers with the error alone,
		// closing the connection in the same envelope (no OK first).
		conn.pending[len(conn.pending)-1].Status = ews.ConnectionClosed
	}
	x.stats.streamOpened()
	return conn, nil
}

func messageFor(code ews.ResponseCode) string {
	switch code {
	case ews.ErrorSubscriptionNotFound:
		return "The specified subscription was not found."
	case ews.ErrorSubscriptionAccessDenied:
		return "You don't have permission to access this subscription."
	case ews.ErrorProxyRequestNotAllowed:
		return "The subscription lives on another server."
	case ews.ErrorMissedNotificationEvents:
		return "Events were lost because the queue of this subscription overflowed."
	}
	return string(code)
}

// detachLocked removes s from this connection. Caller holds subs.mu.
func (s *streamConn) detachLocked(sub *subscription) {
	for i, v := range s.subs {
		if v == sub {
			s.subs = append(s.subs[:i], s.subs[i+1:]...)
			break
		}
	}
	sub.conn = nil
	sub.detachedAt = s.x.clock.Now()
	s.wake()
}

// Next implements ewsserver.Stream.
func (s *streamConn) Next(ctx context.Context) (ewsserver.StreamMessage, error) {
	x := s.x
	for {
		s.mu.Lock()
		if s.dropped {
			s.mu.Unlock()
			return ewsserver.StreamMessage{}, ewsserver.ErrStreamDropped
		}
		if s.closed {
			s.mu.Unlock()
			return ewsserver.StreamMessage{Status: ews.ConnectionClosed}, nil
		}
		if len(s.pending) > 0 {
			m := s.pending[0]
			s.pending = s.pending[1:]
			s.mu.Unlock()
			return m, nil
		}
		if !s.started {
			s.started = true
			s.lastBeat = x.clock.Now()
			s.mu.Unlock()
			return ewsserver.StreamMessage{Status: ews.ConnectionOK}, nil
		}
		closing, silent := s.closing, s.silent || x.conditions.StreamsSilent()
		s.mu.Unlock()

		now := x.clock.Now()
		if closing || !now.Before(s.deadline) {
			return s.finish(), nil
		}
		if !silent {
			if m, ok := s.collect(); ok {
				return m, nil
			}
			if s.liveCount() == 0 {
				return s.finish(), nil
			}
		}
		wait := s.deadline.Sub(now)
		if hb := s.lastBeat.Add(x.opts.StreamingHeartbeat).Sub(now); !silent && hb < wait {
			wait = hb
		}
		if wait <= 0 {
			s.lastBeat = now
			return ewsserver.StreamMessage{Status: ews.ConnectionOK}, nil
		}
		timer := x.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ewsserver.StreamMessage{}, ctx.Err()
		case <-s.wakeC:
			timer.Stop()
		case <-timer.C():
		}
	}
}

func (s *streamConn) finish() ewsserver.StreamMessage {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return ewsserver.StreamMessage{Status: ews.ConnectionClosed}
}

func (s *streamConn) liveCount() int {
	s.x.subs.mu.Lock()
	defer s.x.subs.mu.Unlock()
	n := 0
	for _, sub := range s.subs {
		if s.x.subs.byID[sub.id] == sub {
			n++
		}
	}
	return n
}

// collect builds the next envelope from the attached subscriptions' queues.
func (s *streamConn) collect() (ewsserver.StreamMessage, bool) {
	t := s.x.subs
	t.mu.Lock()
	defer t.mu.Unlock()
	var lost []string
	for _, sub := range s.subs {
		if t.byID[sub.id] != sub {
			continue
		}
		if sub.overflow {
			sub.overflow = false
			lost = append(lost, sub.id)
		}
	}
	if len(lost) > 0 {
		return ewsserver.StreamMessage{Err: ewsserver.Fail(ews.ErrorMissedNotificationEvents, messageFor(ews.ErrorMissedNotificationEvents)), ErrorIDs: lost}, true
	}
	var msg ewsserver.StreamMessage
	budget := maxEventsPerEnvelope
	for _, sub := range s.subs {
		if t.byID[sub.id] != sub || len(sub.queue) == 0 || budget == 0 {
			continue
		}
		events, _ := sub.takeLocked(budget)
		budget -= len(events)
		for i := range events {
			events[i].Watermark = ""
		}
		msg.Notifications = append(msg.Notifications, ews.Notification{SubscriptionId: sub.id, Events: events})
	}
	if len(msg.Notifications) == 0 {
		return msg, false
	}
	s.x.stats.eventsDelivered(budgetUsed(msg))
	return msg, true
}

func budgetUsed(m ewsserver.StreamMessage) int {
	n := 0
	for _, nt := range m.Notifications {
		n += len(nt.Events)
	}
	return n
}

// Close implements ewsserver.Stream.
func (s *streamConn) Close() {
	t := s.x.subs
	t.mu.Lock()
	for _, sub := range append([]*subscription(nil), s.subs...) {
		if sub.conn == s {
			sub.conn = nil
			sub.detachedAt = s.x.clock.Now()
		}
	}
	s.subs = nil
	delete(t.conns, s)
	t.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.release()
	s.x.stats.streamClosed()
}

// streams returns the open connections.
func (x *Exchange) streams() []*streamConn {
	x.subs.mu.Lock()
	defer x.subs.mu.Unlock()
	out := make([]*streamConn, 0, len(x.subs.conns))
	for c := range x.subs.conns {
		out = append(out, c)
	}
	return out
}
