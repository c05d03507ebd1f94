package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/store"
)

// GroupStatus describes one affinity group for the dashboard.
type GroupStatus struct {
	// Key is GroupingInformation + "|" + EWS URL.
	Key                 string
	GroupingInformation string
	EWSURL              string
	// Anchor is the member that subscribes first and whose X-AnchorMailbox
	// and backend cookie route every subscription call of the group. It
	// stays the anchor while it is a member.
	Anchor        string
	HasCookie     bool
	Members       int
	Subscriptions int
	Connections   []ConnectionStatus
}

// ConnectionStatus describes one GetStreamingEvents connection.
type ConnectionStatus struct {
	Name          string
	State         string // "connecting", "open", "backoff"
	Subscriptions int
	Since         time.Time
	LastMessage   time.Time
	Reconnects    int
	LastError     string
}

// streamManager groups streaming subscriptions by affinity group and keeps
// at most GroupSize of them on each GetStreamingEvents connection. Safe for
// concurrent use; it never calls into workers while holding mu.
type streamManager struct {
	e *Engine

	mu     sync.Mutex
	groups map[string]*group
	seq    int
}

type group struct {
	key, grouping, ewsURL string
	members               map[string]bool
	// anchor subscribes first; anchored says its subscription exists, so
	// that members may subscribe with the cookie its answer carried.
	// anchorChanged is closed (and replaced) when either changes.
	anchor        string
	anchored      bool
	anchorChanged chan struct{}
	// resigned are members that cannot be the anchor (their own Subscribe
	// was refused), so a new anchor is chosen among the others.
	resigned       map[string]bool
	cookie         string
	subs           map[string]string // smtp → subscription id to stream
	conns          []*streamConn
	regroupPending bool
	changedAt      time.Time // last attach or detach
	holdSince      time.Time // new ids held back since (see regroup)
	recheckPending bool
}

// streamConn is one connection slot. Its id set is fixed for its life; a
// new set means a new streamConn that waits for the old one to finish.
type streamConn struct {
	name string
	g    *group
	subs map[string]string // subscription id → smtp
	// prev is the connection this one replaces: it streams on until this
	// one is alive (make before break, stream_conn.go retirePrev). A
	// replacement planned before its predecessor sent any request takes
	// over that predecessor's prev (regroup): the one that streams.
	prev *streamConn
	// fromPrev are members that prev streamed: they re-read once this
	// connection is alive only if prev did not end cleanly. carried are
	// members streamed on another connection, which was closed at once:
	// events in flight on it may be lost, so they re-read.
	fromPrev []string
	carried  []string
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}

	// Guarded by streamManager.mu.
	// next is the connection that replaces this one (it ends when next is
	// alive); drained says it ended with ConnectionStatus Closed after
	// that: everything it was sent has been read.
	next    *streamConn
	drained bool
	// opening is closed when the GetStreamingEvents request in flight
	// (nil: none) has its answer; after are the connections this one
	// replaced or dropped, whose opens it waits for (stream_conn.go
	// beginOpen).
	opening chan struct{}
	after   []*streamConn
	// asked says beginOpen let this connection send its first
	// GetStreamingEvents: from then on the server may stream its ids on it.
	asked       bool
	state       string
	since       time.Time
	lastMessage time.Time
	reconnects  int
	lastError   string
}

func newStreamManager(e *Engine) *streamManager {
	return &streamManager{e: e, groups: map[string]*group{}}
}

// join makes smtp a member of group key (before it subscribes). The first
// member becomes the anchor and stays it while it is a member: a new
// anchor would route the group's calls to a server where its existing
// subscriptions may not live.
func (m *streamManager) join(key string, res DiscoverResult, smtp string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[key]
	if g == nil {
		g = &group{key: key, grouping: res.GroupingInformation, ewsURL: res.EWSURL, members: map[string]bool{}, subs: map[string]string{},
			resigned: map[string]bool{}, anchorChanged: make(chan struct{})}
		m.groups[key] = g
	}
	g.members[smtp] = true
	if g.anchor == "" && !g.resigned[smtp] {
		m.setAnchorLocked(g, smtp)
	}
}

// setAnchorLocked makes smtp ("" = none) the group's anchor and wakes the
// members waiting in affinity. An anchor that already has a subscription
// anchors the group at once; the cookie stays, as it names the server where
// the group's subscriptions live, until the new anchor's Subscribe
// replaces it.
func (m *streamManager) setAnchorLocked(g *group, smtp string) {
	g.anchor = smtp
	_, g.anchored = g.subs[smtp]
	wakeAnchorWaiters(g)
}

// wakeAnchorWaiters wakes the members waiting in affinity.
func wakeAnchorWaiters(g *group) {
	close(g.anchorChanged)
	g.anchorChanged = make(chan struct{})
}

// nextAnchorLocked picks the alphabetically first member that has not
// resigned ("" if none).
func nextAnchorLocked(g *group) string {
	next := ""
	for s := range g.members {
		if !g.resigned[s] && (next == "" || s < next) {
			next = s
		}
	}
	return next
}

// leave removes smtp from group key.
func (m *streamManager) leave(key, smtp string) {
	m.mu.Lock()
	g := m.groups[key]
	if g == nil {
		m.mu.Unlock()
		return
	}
	delete(g.members, smtp)
	delete(g.resigned, smtp)
	if g.anchor == smtp {
		m.setAnchorLocked(g, nextAnchorLocked(g))
	}
	var stop []*streamConn
	if len(g.members) == 0 && len(g.subs) == 0 {
		stop = g.conns
		g.conns = nil
		delete(m.groups, key)
	}
	m.mu.Unlock()
	for _, c := range stop {
		c.cancel()
	}
}

// affinity returns the anchor mailbox and cookie for smtp's Subscribe, as
// Microsoft describes streaming groups: the anchor subscribes first, without
// a cookie, so that its answer names the server the group lives on (after
// a failover too); a member waits until the anchor's subscription exists
// and then sends the anchor's cookie. The wait ends with ctx or after
// holdMax (an anchor failing for long); the member then goes without the
// cookie, routed by the anchor's X-AnchorMailbox alone.
func (m *streamManager) affinity(ctx context.Context, key, smtp string) (anchor, cookie string) {
	limit := m.e.clk.NewTimer(m.holdMax())
	defer limit.Stop()
	for {
		m.mu.Lock()
		g := m.groups[key]
		switch {
		case g == nil || g.anchor == "" || g.anchor == smtp:
			m.mu.Unlock()
			return smtp, ""
		case g.anchored:
			anchor, cookie := g.anchor, g.cookie
			m.mu.Unlock()
			return anchor, cookie
		}
		changed, anchor := g.anchorChanged, g.anchor
		m.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return anchor, ""
		case <-limit.C():
			return anchor, ""
		}
	}
}

// subscribed records smtp's new subscription. The anchor's answer anchors
// the group and its cookie replaces the group's (a refreshed cookie after
// a failover); members' answers do not touch it.
func (m *streamManager) subscribed(key, smtp, cookie string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[key]
	if g == nil {
		return
	}
	delete(g.resigned, smtp)
	if g.anchor != smtp {
		return
	}
	g.cookie = cookie
	if !g.anchored {
		g.anchored = true
		wakeAnchorWaiters(g)
	}
}

// subscribeFailed reports that smtp's Subscribe was refused for good
// (denied, moved): an anchor that cannot subscribe hands the role to the
// next member, so that the members waiting for it go on.
func (m *streamManager) subscribeFailed(key, smtp string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[key]
	if g == nil || g.anchor != smtp {
		return
	}
	g.resigned[smtp] = true
	m.setAnchorLocked(g, nextAnchorLocked(g))
}

// attach asks for subscription id of smtp to be streamed.
func (m *streamManager) attach(key, smtp, id string) {
	m.mu.Lock()
	g := m.groups[key]
	if g == nil {
		m.mu.Unlock()
		return
	}
	g.subs[smtp] = id
	schedule := m.markRegroupLocked(g)
	m.mu.Unlock()
	if schedule {
		m.scheduleRegroup(key)
	}
}

// detach stops streaming smtp's subscription.
func (m *streamManager) detach(key, smtp string) {
	m.mu.Lock()
	g := m.groups[key]
	if g == nil {
		m.mu.Unlock()
		return
	}
	if _, ok := g.subs[smtp]; !ok {
		m.mu.Unlock()
		return
	}
	delete(g.subs, smtp)
	if smtp == g.anchor && g.anchored {
		// Members subscribing from now on wait for the anchor's new
		// subscription and the cookie its answer carries.
		g.anchored = false
		wakeAnchorWaiters(g)
	}
	schedule := m.markRegroupLocked(g)
	m.mu.Unlock()
	if schedule {
		m.scheduleRegroup(key)
	}
}

func (m *streamManager) markRegroupLocked(g *group) bool {
	g.changedAt = m.e.clk.Now()
	if g.regroupPending {
		return false
	}
	g.regroupPending = true
	return true
}

// scheduleRegroup re-plans group key's connections once its membership
// has been quiet for RegroupDelay (at most 10×RegroupDelay after the first
// change), so that a burst of new subscriptions — an initial load, a
// resubscription wave after a restart — re-opens each connection rarely.
// Events of not yet streamed subscriptions wait in the server's queue.
func (m *streamManager) scheduleRegroup(key string) {
	ok := m.e.spawn("regroup "+key, func() {
		ctx := m.e.runCtxDone()
		first := m.e.clk.Now()
		delay := m.e.opts.RegroupDelay
		for {
			if sleep(ctx, m.e.clk, delay) != nil {
				return
			}
			m.mu.Lock()
			var changed time.Time
			if g := m.groups[key]; g != nil {
				changed = g.changedAt
			}
			m.mu.Unlock()
			now := m.e.clk.Now()
			quietFor := now.Sub(changed)
			if quietFor >= m.e.opts.RegroupDelay || now.Sub(first) >= 10*m.e.opts.RegroupDelay {
				break
			}
			delay = m.e.opts.RegroupDelay - quietFor
		}
		m.regroup(key)
	})
	if !ok {
		m.mu.Lock()
		if g := m.groups[key]; g != nil {
			g.regroupPending = false
		}
		m.mu.Unlock()
	}
}

// regroup assigns the group's subscriptions to connections of at most
// GroupSize ids: existing connections keep their ids, new ids fill
// connections with room, and the group is repacked when it uses more
// connections than ceil(n/GroupSize).
func (m *streamManager) regroup(key string) {
	type assignment struct{ smtp, conn string }
	var assigned []assignment
	var starts []*streamConn
	runCtx := m.e.runCtxDone()
	m.mu.Lock()
	g := m.groups[key]
	if g == nil {
		m.mu.Unlock()
		return
	}
	g.regroupPending = false
	size := m.e.opts.GroupSize
	// The maps are made at their final sizes (allocation only): grown an
	// entry at a time, every regroup of a load left tables of the size
	// class of a connection's subs behind, between which those stayed
	// (docs/BENCHMARKS.md, "issue 16, session 9").
	want := make(map[string]string, len(g.subs)) // id → smtp
	for smtp, id := range g.subs {
		want[id] = smtp
	}
	streamed := 0
	for _, c := range g.conns {
		streamed += len(c.subs)
	}
	onConn := make(map[string]*streamConn, streamed) // ids streamed before this regroup
	for _, c := range g.conns {
		for id := range c.subs {
			onConn[id] = c
		}
	}
	// Current sets minus vanished ids.
	sets := make([][]string, len(g.conns))
	placed := make(map[string]bool, streamed)
	for i, c := range g.conns {
		for id := range c.subs {
			if _, ok := want[id]; ok {
				sets[i] = append(sets[i], id)
				placed[id] = true
			}
		}
	}
	var fresh []string
	for id := range want {
		if !placed[id] {
			fresh = append(fresh, id)
		}
	}
	sort.Slice(fresh, func(i, j int) bool { return want[fresh[i]] < want[fresh[j]] })
	// While members of the group are still subscribing (an initial load, a
	// resubscription wave), open only full connections and leave the
	// existing ones alone, so that each connection opens about once with
	// its final set; the remaining ids wait (their events queue on the
	// server) until no member is pending or for at most holdMax.
	holdFor := time.Duration(0)
	// Mailboxes still waiting for their first Autodiscover answer may join
	// this group: at a start they do, and a connection opened before them
	// would be reopened with them a moment later.
	if pending := len(g.members) - len(g.subs) + m.e.statuses.undiscovered(); pending > 0 && len(fresh) > 0 {
		now := m.e.clk.Now()
		if g.holdSince.IsZero() {
			g.holdSince = now
		}
		holdFor = m.holdMax() - now.Sub(g.holdSince)
	}
	if holdFor > 0 {
		full := len(fresh) / size * size
		if full == len(fresh) {
			holdFor, g.holdSince = 0, time.Time{} // nothing held back
		}
		fresh = fresh[:full]
	} else {
		g.holdSince = time.Time{}
		for i := range sets {
			for len(sets[i]) < size && len(fresh) > 0 {
				sets[i] = append(sets[i], fresh[0])
				fresh = fresh[1:]
			}
		}
	}
	for len(fresh) > 0 {
		n := min(size, len(fresh))
		sets = append(sets, fresh[:n])
		fresh = fresh[n:]
	}
	nonEmpty := 0
	for _, s := range sets {
		if len(s) > 0 {
			nonEmpty++
		}
	}
	if limit := (len(want) + size - 1) / size; nonEmpty > limit {
		// Repack: too many half-empty connections.
		all := make([]string, 0, len(want))
		for id := range want {
			all = append(all, id)
		}
		sort.Slice(all, func(i, j int) bool { return want[all[i]] < want[all[j]] })
		sets = nil
		for len(all) > 0 {
			n := min(size, len(all))
			sets = append(sets, all[:n])
			all = all[n:]
		}
	}
	var next []*streamConn
	for i, ids := range sets {
		var old *streamConn
		if i < len(g.conns) {
			old = g.conns[i]
		}
		if len(ids) == 0 {
			if old != nil {
				old.cancel()
			}
			continue
		}
		if old != nil && sameSet(old.subs, ids) {
			next = append(next, old)
			continue
		}
		m.seq++
		c := &streamConn{name: fmt.Sprintf("%s#%d", shortKey(g.key), m.seq), g: g, subs: make(map[string]string, len(ids)), prev: old, done: make(chan struct{}), state: "connecting"}
		c.ctx, c.cancel = context.WithCancel(runCtx)
		// An old connection that never sent its request streams nothing:
		// c replaces what it was to replace (during a load the partial
		// connection of a group is filled up again before its previous
		// fill-up could open). Ending old would cut its prev, and every
		// member would re-read as after a cut.
		skip := old != nil && !old.asked
		if skip {
			c.prev, old.prev = old.prev, nil
			c.after = old.after
		}
		for _, id := range ids {
			smtp := want[id]
			c.subs[id] = smtp
			assigned = append(assigned, assignment{smtp, c.name})
			switch on := onConn[id]; {
			case on == nil:
			case on == old && skip:
				// Where it streams now: on old's prev, on a connection
				// closed at once (old carried it), or nowhere yet.
				if _, ok := prevSubs(c)[id]; ok {
					c.fromPrev = append(c.fromPrev, smtp)
				} else if slices.Contains(old.carried, smtp) {
					c.carried = append(c.carried, smtp)
				}
			case on == old:
				c.fromPrev = append(c.fromPrev, smtp)
			default:
				c.carried = append(c.carried, smtp)
			}
		}
		if old != nil {
			old.next = c // ends once c is alive
			m.e.metrics.streamEvents.WithLabelValues("rebuild").Inc()
		}
		if c.prev != nil {
			c.prev.next = c
		}
		next = append(next, c)
		starts = append(starts, c)
	}
	for i := len(sets); i < len(g.conns); i++ {
		g.conns[i].cancel()
	}
	// The new connections open after any open of a connection they
	// replace or drop (stream_conn.go beginOpen): none of those can begin
	// another from now on, as each has a successor or was cancelled above.
	var gone []*streamConn
	for _, o := range g.conns {
		if !slices.Contains(next, o) {
			gone = append(gone, o)
		}
	}
	for _, c := range starts {
		// And after those of the connections a skipped one was to wait for.
		c.after = append(slices.Clone(gone), c.after...)
	}
	g.conns = next
	m.mu.Unlock()

	for _, c := range starts {
		if !m.e.spawn("stream "+c.name, func() { m.runConn(c) }) {
			c.cancel()
			close(c.done)
		}
	}
	for _, a := range assigned {
		m.e.updateStatus(a.smtp, func(st *store.MailboxStatus) { st.Connection = a.conn })
	}
	if holdFor > 0 {
		m.recheckAfter(key, holdFor)
	}
}

// holdMax bounds how long new subscriptions wait for their group's
// pending members before they are streamed anyway.
func (m *streamManager) holdMax() time.Duration { return 60 * m.e.opts.RegroupDelay }

// recheckAfter regroups key after d, once per hold period, so that held
// subscriptions are streamed even if no other member subscribes.
func (m *streamManager) recheckAfter(key string, d time.Duration) {
	m.mu.Lock()
	g := m.groups[key]
	if g == nil || g.recheckPending {
		m.mu.Unlock()
		return
	}
	g.recheckPending = true
	m.mu.Unlock()
	ok := m.e.spawn("regroup recheck "+key, func() {
		err := sleep(m.e.runCtxDone(), m.e.clk, d+m.e.opts.RegroupDelay)
		m.mu.Lock()
		if g := m.groups[key]; g != nil {
			g.recheckPending = false
		}
		m.mu.Unlock()
		if err == nil {
			m.regroup(key)
		}
	})
	if !ok {
		m.mu.Lock()
		g.recheckPending = false
		m.mu.Unlock()
	}
}

// prevSubs returns the ids of c's prev (nil if none).
func prevSubs(c *streamConn) map[string]string {
	if c.prev == nil {
		return nil
	}
	return c.prev.subs
}

func sameSet(have map[string]string, ids []string) bool {
	if len(have) != len(ids) {
		return false
	}
	for _, id := range ids {
		if _, ok := have[id]; !ok {
			return false
		}
	}
	return true
}

func shortKey(key string) string {
	if i := strings.IndexByte(key, '|'); i > 0 {
		return key[:i]
	}
	return key
}

// stopAll cancels every connection (at shutdown).
func (m *streamManager) stopAll() {
	m.mu.Lock()
	var cs []*streamConn
	for _, g := range m.groups {
		cs = append(cs, g.conns...)
	}
	m.mu.Unlock()
	for _, c := range cs {
		c.cancel()
	}
}

// summary reports groups and connections.
func (m *streamManager) summary() []GroupStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]GroupStatus, 0, len(m.groups))
	for _, g := range m.groups {
		gs := GroupStatus{Key: g.key, GroupingInformation: g.grouping, EWSURL: g.ewsURL, Anchor: g.anchor, HasCookie: g.cookie != "", Members: len(g.members), Subscriptions: len(g.subs)}
		for _, c := range g.conns {
			gs.Connections = append(gs.Connections, ConnectionStatus{Name: c.name, State: c.state, Subscriptions: len(c.subs), Since: c.since, LastMessage: c.lastMessage, Reconnects: c.reconnects, LastError: c.lastError})
		}
		out = append(out, gs)
	}
	slices.SortFunc(out, func(a, b GroupStatus) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (m *streamManager) setConnState(c *streamConn, state string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.state != state {
		c.since = m.e.clk.Now()
	}
	c.state = state
	if err != nil {
		c.lastError = ErrorCode(err) + ": " + Describe(err)
	}
}

// members returns the smtp addresses currently on c, sorted.
func (m *streamManager) connMembers(c *streamConn) (ids, smtps []string, t Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, smtp := range c.subs {
		ids = append(ids, id)
		smtps = append(smtps, smtp)
	}
	slices.Sort(smtps)
	slices.Sort(ids)
	t = Target{EWSURL: c.g.ewsURL, Anchor: c.g.anchor, Cookie: c.g.cookie, Affinity: true}
	if len(smtps) > 0 {
		// Each connection is charged to the budget copy of its first
		// member, so groups need not share the service account's
		// hanging-connection limit.
		t.SMTP = smtps[0]
	}
	if t.Anchor == "" {
		t.Anchor = t.SMTP
	}
	return ids, smtps, t
}

// notifyAll sends trigger t to the workers of smtps.
func (m *streamManager) notifyAll(smtps []string, t trigger) {
	for _, s := range smtps {
		if w := m.e.worker(s); w != nil {
			w.notify(t)
		}
	}
}
