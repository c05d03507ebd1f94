package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"time"

	"github.com/calsync/calsync/store"
)

// errSilent: why a connection ended, as readStream reports it to runConn.
var errSilent = errors.New("engine: streaming connection silent past the heartbeat timeout")

// runConn keeps one connection open until its context ends or it is
// replaced. A replacement opens while the connection it replaces still
// streams (make before break): the old one ends once the new one is alive.
//
// The work is split in three calls so that the goroutine's stack is
// shallow while it waits for the server, which is nearly always: openConn
// and afterStream have large frames (inlined helpers, log calls) and have
// returned by then; only runConn's and serveConn's small frames lie below
// readStream. A stack less than a quarter used is halved at a collection:
// in one function, the 52 connections of 10,000 mailboxes rested at just
// over 4 KiB used of 16 KiB stacks, 1.2 KiB of it runConn's own frame.
func (m *streamManager) runConn(c *streamConn) {
	defer close(c.done)
	// A connection that ends before it was alive ends its predecessor too
	// (nil once handed to retirePrev, or to a replacement planned before
	// c sent its request: streams.go regroup).
	defer func() {
		m.mu.Lock()
		prev := c.prev
		c.prev = nil
		m.mu.Unlock()
		if prev != nil {
			prev.cancel()
		}
	}()
	var a connAttempts
	for c.ctx.Err() == nil {
		o, next := m.openConn(c, &a)
		switch next {
		case connEnd:
			return
		case connRetry:
			continue
		}
		alive, err := m.serveConn(c, o)
		if !m.afterStream(c, o, &a, err, alive) {
			return
		}
	}
}

// connAttempts is what runConn carries from one connection to the next.
type connAttempts struct {
	failures int
	// verify: the last connection ended unplanned (or failed to open), so
	// every member re-reads once the next one proves alive.
	verify bool
}

// connNext says what runConn does after openConn.
type connNext int

const (
	connRead  connNext = iota // read the opened stream
	connRetry                 // open again (after a back-off)
	connEnd                   // the connection is over
)

// openedConn is an open stream and what its first message settles.
type openedConn struct {
	stream    Stream
	endStream context.CancelFunc
	// prev is the connection this one replaces, ended by onAlive or, if
	// the stream is never alive, by afterStream.
	prev    *streamConn
	onAlive func()
}

// openConn opens c's stream for its current members, backing off after a
// failure (connRetry).
func (m *streamManager) openConn(c *streamConn, a *connAttempts) (openedConn, connNext) {
	if m.replaced(c) {
		return openedConn{}, connEnd
	}
	ids, smtps, t := m.connMembers(c)
	if len(ids) == 0 {
		return openedConn{}, connEnd
	}
	m.setConnState(c, "connecting", nil)
	probe, err := m.e.budget.creds.wait(c.ctx)
	if err != nil {
		return openedConn{}, connEnd
	}
	opened, ok := m.beginOpen(c)
	if !ok {
		return openedConn{}, connEnd
	}
	var stream Stream
	// The stream lives on its request's context, so the open cannot
	// carry a deadline; openCtx is cancelled if the open alone takes
	// longer than CallTimeout (a front end that accepts the
	// connection and never answers), and when the stream ends.
	openCtx, endStream := context.WithCancel(c.ctx)
	err = m.recovered(c, func() error {
		var err error
		stream, err = m.openWithin(openCtx, endStream, func(ctx context.Context) (Stream, error) {
			return m.e.ex.OpenStream(ctx, t, ids, m.e.opts.StreamTimeout)
		})
		return err
	})
	m.endOpen(c, opened)
	m.e.budget.creds.report(err, probe)
	if err != nil {
		endStream()
		if c.ctx.Err() != nil {
			return openedConn{}, connEnd
		}
		m.e.metrics.errors.WithLabelValues(ErrorCode(err)).Inc()
		m.e.metrics.streamEvents.WithLabelValues("open_failed").Inc()
		switch classify(err).act {
		case actResubscribe:
			// Every id of the connection is gone (e.g. Exchange restarted).
			m.notifyAll(m.dropIDs(c, ids), trigResubscribe)
			return openedConn{}, connEnd
		case actRediscover, actMoving:
			m.notifyAll(m.dropIDs(c, ids), trigRediscover)
			return openedConn{}, connEnd
		case actDenied:
			// The connection impersonates its first member and Exchange
			// refuses that (the user left the impersonation scope, the
			// mailbox is gone). Retrying as the same member would keep
			// every member of the connection without events: drop it —
			// its worker resubscribes and finds out — and reconnect as
			// the next one after the back-off below.
			m.notifyAll(m.dropMember(c, t.SMTP), trigResubscribe)
		}
		a.failures++
		a.verify = true
		m.setConnState(c, "backoff", err)
		m.e.log.Warn("opening streaming connection failed", "conn", c.name, "code", ErrorCode(err), "err", Describe(err))
		d := m.e.backoffDelay(a.failures)
		if h := backOffHint(err); h > d {
			d = min(h, m.e.opts.Budget.MaxBackOff)
		}
		if sleep(c.ctx, m.e.clk, d) != nil {
			return openedConn{}, connEnd
		}
		return openedConn{}, connRetry
	}
	m.e.metrics.connections.Inc()
	m.setConnState(c, "open", nil)
	// After an unplanned reconnect events may have been lost in flight:
	// once the new connection proves alive (its first message), every
	// member re-reads before the stream is trusted again. Waiting for
	// that message avoids a re-read storm while the server is silent.
	o := openedConn{stream: stream, endStream: endStream}
	m.mu.Lock()
	prev, fromPrev, carried := c.prev, c.fromPrev, c.carried
	c.prev, c.fromPrev, c.carried = nil, nil, nil
	m.mu.Unlock()
	switch {
	case a.verify:
		o.onAlive = func() { m.notifyAll(smtps, trigVerify) }
		if prev != nil {
			prev.cancel()
		}
	case prev != nil:
		o.onAlive = func() { m.retirePrev(c, prev, fromPrev, carried) }
	case len(carried) > 0:
		o.onAlive = func() { m.notifyAll(carried, trigVerify) }
	}
	o.prev = prev
	return o, connRead
}

// serveConn reads o's stream until it ends; alive says whether a message
// came. Its frame is all that lies between runConn's and readStream's
// while the connection waits (runConn says why that matters).
func (m *streamManager) serveConn(c *streamConn, o openedConn) (alive bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = m.panicked(c, r)
		}
	}()
	err = m.readStream(c, o.stream, func() {
		alive = true
		if o.onAlive != nil {
			o.onAlive()
		}
	})
	return alive, err
}

// afterStream closes an ended stream and decides whether c connects
// again (true), backing off first when the stream ended unplanned.
func (m *streamManager) afterStream(c *streamConn, o openedConn, a *connAttempts, err error, alive bool) bool {
	if !alive && o.prev != nil {
		// Opened but never alive: prev was not handed to retirePrev,
		// and this connection's open took its subscriptions. End it
		// rather than leave it streaming unowned until the server ends
		// it; its members re-read with the next open (verify).
		o.prev.cancel()
	}
	_ = o.stream.Close()
	o.endStream()
	m.e.metrics.connections.Dec()
	if c.ctx.Err() != nil {
		return false
	}
	m.mu.Lock()
	c.reconnects++
	m.mu.Unlock()
	m.e.metrics.streamEvents.WithLabelValues(endEvent(err)).Inc()
	if err == nil {
		// The server ended the connection (ConnectionStatus Closed) after
		// delivering everything: reconnect at once, nothing to verify —
		// unless a replacement took its subscriptions (the server closes
		// a connection left without any): then it has been drained.
		m.mu.Lock()
		c.drained = c.next != nil
		m.mu.Unlock()
		a.failures, a.verify = 0, false
		return true
	}
	a.failures = streamFailures(a.failures, alive)
	a.verify = true
	m.setConnState(c, "backoff", err)
	m.e.log.Info("streaming connection lost; reconnecting", "conn", c.name, "code", ErrorCode(err), "err", Describe(err))
	return sleep(c.ctx, m.e.clk, m.e.backoffDelay(a.failures)) == nil
}

// beginOpen marks c's GetStreamingEvents request as in flight, after any
// request in flight of the connections c replaced or dropped has its
// answer; false when c itself was replaced or cancelled meanwhile (it
// opens no more). A subscription streams on the connection that named it
// last (the simulator takes it off the older one without a word): a
// replaced connection's open answered after its replacement's would take
// the shared ids back, and its end would then leave them on no connection
// while the replacement streams on without their events. Such an open
// begins before the regroup that replaces the connection (its credential
// wait may take long in an HTTP 401 episode); no open begins after it.
func (m *streamManager) beginOpen(c *streamConn) (opened chan struct{}, ok bool) {
	for {
		m.mu.Lock()
		if c.next != nil || c.ctx.Err() != nil {
			m.mu.Unlock()
			return nil, false
		}
		var wait chan struct{}
		for len(c.after) > 0 && wait == nil {
			wait = c.after[0].opening
			if wait == nil {
				c.after = c.after[1:]
			}
		}
		if wait == nil {
			opened = make(chan struct{})
			c.opening, c.asked = opened, true
			m.mu.Unlock()
			return opened, true
		}
		m.mu.Unlock()
		select {
		case <-wait:
		case <-c.ctx.Done():
			return nil, false
		}
	}
}

// endOpen ends what beginOpen began.
func (m *streamManager) endOpen(c *streamConn, opened chan struct{}) {
	m.mu.Lock()
	c.opening = nil
	m.mu.Unlock()
	close(opened)
}

// retireTimeout bounds how long a replaced connection may stream on after
// its replacement is alive, waiting for the server to close it.
const retireTimeout = 5 * time.Second

// replaced reports whether c has a replacement (it then opens no more).
func (m *streamManager) replaced(c *streamConn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return c.next != nil
}

// retirePrev ends prev, the connection c replaces, now that c is alive.
// Opening c moved the subscriptions both name to c; a server that closes
// a connection left without subscriptions (the simulator; ConnectionStatus
// Closed) has then sent prev everything for them, and prev's reader read
// it: its members need not re-read. A prev still open after retireTimeout
// (it streams other ids, or the server keeps it) is cut, and then its
// members re-read, as after any cut: events in flight on it may be lost.
// Members carried from other connections (closed at once) always re-read.
func (m *streamManager) retirePrev(c, prev *streamConn, fromPrev, carried []string) {
	finish := func() {
		m.mu.Lock()
		drained := prev.drained
		m.mu.Unlock()
		if !drained {
			carried = append(carried, fromPrev...)
		}
		if len(carried) > 0 {
			m.notifyAll(carried, trigVerify)
		}
	}
	ok := m.e.spawn("retire "+prev.name, func() {
		t := m.e.clk.NewTimer(retireTimeout)
		defer t.Stop()
		select {
		case <-prev.done:
		case <-t.C():
			m.e.metrics.streamEvents.WithLabelValues("retire_cut").Inc()
			prev.cancel()
			<-prev.done
		case <-c.ctx.Done():
			prev.cancel()
			return
		}
		finish()
	})
	if !ok {
		prev.cancel()
	}
}

// openWithin runs open on ctx and cancels ctx (with end) when open has not
// returned within CallTimeout; the error is then a Timeout. ctx stays
// alive after a timely open: the stream reads on it.
func (m *streamManager) openWithin(ctx context.Context, end context.CancelFunc, open func(context.Context) (Stream, error)) (Stream, error) {
	opened := make(chan struct{})
	expired := make(chan struct{})
	t := m.e.clk.NewTimer(m.e.opts.CallTimeout)
	go func() {
		defer t.Stop()
		select {
		case <-opened:
		case <-ctx.Done():
		case <-t.C():
			close(expired)
			end()
		}
	}()
	s, err := open(ctx)
	close(opened)
	select {
	case <-expired:
		if s != nil {
			_ = s.Close()
		}
		return nil, &ExchangeError{Code: "Timeout", Err: fmt.Errorf("engine: GetStreamingEvents did not answer within %s", m.e.opts.CallTimeout)}
	default:
	}
	return s, err
}

// recovered runs fn and turns a panic (a parser blowing up on a hostile
// envelope) into an error, so that the connection reconnects and its
// members re-read instead of the connection's goroutine ending while its
// members believe they are streamed.
func (m *streamManager) recovered(c *streamConn, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = m.panicked(c, r)
		}
	}()
	return fn()
}

// panicked logs a panic recovered on c's goroutine and returns the error
// that makes c reconnect.
func (m *streamManager) panicked(c *streamConn, r any) error {
	m.e.log.Error("streaming connection panicked; reconnecting", "conn", c.name, "panic", r, "stack", string(debug.Stack()))
	return fmt.Errorf("engine: internal error on streaming connection %s: %v", c.name, r)
}

// readStream reads messages until the connection ends. It returns nil for
// ConnectionStatus=Closed and an error otherwise. When the connection is
// due for renewal it asks for its replacement (renew) and reads on until
// the server closes it or retirePrev cuts it.
func (m *streamManager) readStream(c *streamConn, stream Stream, onAlive func()) error {
	sctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	w := m.watchStream(sctx, c, cancel)
	defer w.end()
	for {
		msg, err := stream.Next(sctx)
		if err != nil {
			return streamEnded(w, err)
		}
		w.heard()
		if onAlive != nil {
			onAlive()
			onAlive = nil
		}
		if end, err := m.received(c, msg); end {
			return err
		}
	}
}

// streamEnded is readStream's error for a stream whose Next failed.
func streamEnded(w *streamWatch, err error) error {
	switch {
	case w.wasSilent():
		return errSilent
	case errors.Is(err, io.EOF):
		return fmt.Errorf("engine: stream ended without ConnectionStatus Closed: %w", err)
	}
	return err
}

// received takes one message of c's stream; end says the stream is over
// (with err nil for ConnectionStatus Closed). It is apart from readStream
// to keep the frame the connection waits under small (runConn).
func (m *streamManager) received(c *streamConn, msg StreamMessage) (end bool, err error) {
	now := m.e.clk.Now()
	m.mu.Lock()
	c.lastMessage = now
	m.mu.Unlock()
	m.dispatch(c, msg, now)
	if len(msg.Failures) > 0 {
		// Drop the failed ids and reconnect with the rest, verifying
		// them: the server may not deliver their events either.
		ids, _, _ := m.connMembers(c)
		if len(ids) == 0 {
			return true, nil
		}
		return true, fmt.Errorf("engine: %d subscriptions failed on the stream", len(msg.Failures))
	}
	return msg.Status == "Closed", nil
}

// dispatch forwards a message's events and failures to the workers.
func (m *streamManager) dispatch(c *streamConn, msg StreamMessage, now time.Time) {
	type hint struct {
		smtp   string
		events []Event
	}
	var hints []hint
	type lost struct {
		smtps []string
		t     trigger
	}
	var losts []lost
	m.mu.Lock()
	for _, n := range msg.Notifications {
		smtp, ok := c.subs[n.SubscriptionID]
		if !ok {
			continue
		}
		if evs := changeEvents(n.Events); len(evs) > 0 {
			hints = append(hints, hint{smtp, evs})
		}
	}
	for _, f := range msg.Failures {
		ids := f.SubscriptionIDs
		if c.next != nil {
			// A replaced connection: its replacement names these ids too
			// and reports their failures itself (a server may fail an id
			// on the old connection because the new one took it).
			ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { _, ok := c.next.subs[id]; return ok })
		}
		ss := m.dropIDsLocked(c, ids)
		t := trigResubscribe
		if a := classify(f.Err).act; a == actRediscover || a == actMoving {
			t = trigRediscover
		}
		losts = append(losts, lost{ss, t})
	}
	m.mu.Unlock()
	for _, h := range hints {
		if w := m.e.worker(h.smtp); w != nil {
			w.hintEvents(now, h.events)
		}
	}
	for _, l := range losts {
		m.notifyAll(l.smtps, l.t)
	}
}

// dropIDs removes ids from c and their group.
// It returns the mailboxes whose current subscription was among them; a
// failure of an older id (the mailbox already resubscribed) is not news.
func (m *streamManager) dropIDs(c *streamConn, ids []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropIDsLocked(c, ids)
}

// dropMember removes every id of smtp from c, like dropIDs.
func (m *streamManager) dropMember(c *streamConn, smtp string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, s := range c.subs {
		if s == smtp {
			ids = append(ids, id)
		}
	}
	return m.dropIDsLocked(c, ids)
}

func (m *streamManager) dropIDsLocked(c *streamConn, ids []string) []string {
	var current []string
	for _, id := range ids {
		if smtp, ok := c.subs[id]; ok {
			delete(c.subs, id)
			if c.g.subs[smtp] == id {
				delete(c.g.subs, smtp)
				current = append(current, smtp)
				if smtp == c.g.anchor && c.g.anchored {
					// The anchor's subscription is gone (a failover, a
					// restart): members resubscribing now wait for its new
					// one, whose answer names the group's server.
					c.g.anchored = false
					wakeAnchorWaiters(c.g)
				}
			}
		}
	}
	return current
}

// endEvent names how a connection that was open ended, for
// metrics.streamEvents: closed by the server (nothing re-read), silent past
// the heartbeat timeout, or cut by any other error (members re-read).
func endEvent(err error) string {
	switch {
	case err == nil:
		return "closed"
	case errors.Is(err, errSilent):
		return "silent"
	}
	return "cut"
}

// streamFailures returns the failure count after a connection ended with
// an error: a connection that proved alive (it delivered a message) starts
// the count again, so that cuts hours apart do not grow the back-off.
func streamFailures(failures int, alive bool) int {
	if alive {
		return 1
	}
	return failures + 1
}

// renew replaces c, due for renewal before the server's ConnectionTimeout
// ends it, by a connection with the same subscriptions, made before break
// like a regroup's replacement: the new one opens while c streams on, and
// c ends once it is alive (retirePrev). Opening the new one moves the
// subscriptions to it; a server that then closes c (ConnectionStatus
// Closed) has sent c everything, so no member re-reads — before, c was
// closed first and every member re-read at every renewal (a request per
// mailbox every StreamTimeout−StreamRenewBefore). A c cut after
// retireTimeout, or one that fails before its replacement is alive, has
// its members re-read as after any cut. Subscriptions that vanished
// silently (a mailbox moved away) show up as failures on the new
// connection. Nothing happens when c is already replaced or dropped.
func (m *streamManager) renew(c *streamConn) {
	runCtx := m.e.runCtxDone()
	m.mu.Lock()
	g := c.g
	i := slices.Index(g.conns, c)
	if i < 0 || c.next != nil || c.ctx.Err() != nil || len(c.subs) == 0 {
		m.mu.Unlock()
		return
	}
	m.seq++
	n := &streamConn{name: fmt.Sprintf("%s#%d", shortKey(g.key), m.seq), g: g, subs: maps.Clone(c.subs), prev: c,
		done: make(chan struct{}), state: "connecting", after: []*streamConn{c}}
	n.ctx, n.cancel = context.WithCancel(runCtx)
	smtps := make([]string, 0, len(n.subs))
	for _, smtp := range n.subs {
		smtps = append(smtps, smtp)
	}
	n.fromPrev = smtps
	c.next = n
	g.conns[i] = n
	m.mu.Unlock()
	m.e.metrics.streamEvents.WithLabelValues("renewal").Inc()
	if !m.e.spawn("stream "+n.name, func() { m.runConn(n) }) {
		n.cancel()
		close(n.done)
		return
	}
	for _, smtp := range smtps {
		m.e.updateStatus(smtp, func(st *store.MailboxStatus) { st.Connection = n.name })
	}
}
