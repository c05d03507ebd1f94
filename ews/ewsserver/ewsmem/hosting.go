package ewsmem

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// Hybrid hosting: a mailbox lives on one of the organisation's mailbox
// servers or in Exchange Online ("the cloud"), and moves between them.
// Exchange Server answers for a mailbox moved to the cloud as for a
// RemoteUserMailbox: ErrorNonExistentMailbox "No mailbox with such guid."
// (graph-facts §6, [S74]); while a move runs, ErrorMailboxMoveInProgress.
// The Graph face (graph/graphserver) serves the cloud mailboxes and
// answers the others with MailboxNotEnabledForRESTAPI. A completed move
// gives every item a new id (ids do not survive a cross-premises move),
// drops the mailbox's EWS subscriptions and invalidates its sync states.

// Cloud names Exchange Online as a move target.
const Cloud = "cloud"

// ErrMoveInProgress reports a move of a mailbox that is already moving.
var ErrMoveInProgress = errors.New("ewsmem: the mailbox is being moved")

// hosting is where mailboxes live beyond their server: the cloud set and
// the moves in progress. Its lock is a leaf.
type hosting struct {
	mu     sync.Mutex
	cloud  map[string]bool
	moving map[string]string // address → target (Cloud or a server FQDN)
	// closed ends the moves' waits at Close (their timers may never fire
	// on a fake clock); phases counts those waits.
	closed chan struct{}
	phases sync.WaitGroup
}

func (h *hosting) init() {
	if h.cloud == nil {
		h.cloud, h.moving = map[string]bool{}, map[string]string{}
		h.closed = make(chan struct{})
	}
}

// close ends the waits of moves still in their phase (those moves never
// complete) and waits for them. Later moves fail.
func (h *hosting) close() {
	h.mu.Lock()
	h.init()
	select {
	case <-h.closed:
	default:
		close(h.closed)
	}
	h.mu.Unlock()
	h.phases.Wait()
}

// PlaceInCloud hosts mailboxes in the cloud from the start (no move, no
// new ids): the organisation's state when the simulator starts.
func (x *Exchange) PlaceInCloud(addrs ...string) error {
	for _, a := range addrs {
		if _, ok := x.mailbox(a); !ok {
			return fmt.Errorf("%w: %s", ErrNoMailbox, a)
		}
	}
	x.hosting.mu.Lock()
	defer x.hosting.mu.Unlock()
	x.hosting.init()
	for _, a := range addrs {
		x.hosting.cloud[strings.ToLower(a)] = true
	}
	return nil
}

// InCloud reports whether a mailbox lives in the cloud and is not moving.
func (x *Exchange) InCloud(smtp string) bool {
	x.hosting.mu.Lock()
	defer x.hosting.mu.Unlock()
	key := strings.ToLower(smtp)
	return x.hosting.cloud[key] && x.hosting.moving[key] == ""
}

// Hosting returns where a mailbox lives (Cloud or its server's FQDN) and
// the target of a move in progress ("" when none).
func (x *Exchange) Hosting(smtp string) (where, movingTo string, err error) {
	server, err := x.MailboxServer(smtp)
	if err != nil {
		return "", "", err
	}
	x.hosting.mu.Lock()
	defer x.hosting.mu.Unlock()
	key := strings.ToLower(smtp)
	if x.hosting.cloud[key] {
		return Cloud, x.hosting.moving[key], nil
	}
	return server, x.hosting.moving[key], nil
}

// CloudMailboxes lists the mailboxes hosted in the cloud, sorted.
func (x *Exchange) CloudMailboxes() []string {
	x.hosting.mu.Lock()
	defer x.hosting.mu.Unlock()
	out := make([]string, 0, len(x.hosting.cloud))
	for a := range x.hosting.cloud {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// hostedOnPremises is the EWS side's check of the mailbox a request
// works on (the impersonated one, else the account's own).
func (x *Exchange) hostedOnPremises(smtp string) error {
	x.hosting.mu.Lock()
	defer x.hosting.mu.Unlock()
	key := strings.ToLower(smtp)
	switch {
	case x.hosting.moving[key] != "":
		return ewsserver.Fault(ews.ErrorMailboxMoveInProgress, "The mailbox is being moved. Try again later.")
	case x.hosting.cloud[key]:
		return ewsserver.Fault(ews.ErrorNonExistentMailbox, "No mailbox with such guid.")
	}
	return nil
}

// StartMove begins moving a mailbox to target (Cloud or a server FQDN).
// For phase the mailbox is in move: EWS answers ErrorMailboxMoveInProgress,
// Graph MailboxNotEnabledForRESTAPI. Then the move completes (new item
// ids, EWS subscriptions and sync states gone, the new place in force)
// and done, when set, runs. A phase of 0 completes the move before
// StartMove returns. The phase runs on the model's clock.
func (x *Exchange) StartMove(smtp, target string, phase time.Duration, done func()) error {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	key := mb.smtp
	server := -1
	if !strings.EqualFold(target, Cloud) {
		i, ok := x.serverIndex(target)
		if !ok {
			return fmt.Errorf("ewsmem: unknown move target %q: want %q or a mailbox server (%s)", target, Cloud, strings.Join(x.servers, ", "))
		}
		server = i
	}
	x.hosting.mu.Lock()
	x.hosting.init()
	select {
	case <-x.hosting.closed:
		x.hosting.mu.Unlock()
		return errors.New("ewsmem: the model is closed; no move starts")
	default:
	}
	if to := x.hosting.moving[key]; to != "" {
		x.hosting.mu.Unlock()
		return fmt.Errorf("%w to %s: %s", ErrMoveInProgress, to, key)
	}
	inCloud := x.hosting.cloud[key]
	mb.mu.Lock()
	current := mb.server
	mb.mu.Unlock()
	if (server < 0 && inCloud) || (server >= 0 && !inCloud && server == current) {
		x.hosting.mu.Unlock()
		return fmt.Errorf("ewsmem: %s already lives on %s", key, target)
	}
	to := Cloud
	if server >= 0 {
		to = x.servers[server]
	}
	x.hosting.moving[key] = to
	if phase > 0 {
		x.hosting.phases.Add(1) // under mu, so that close waits for it
	}
	x.hosting.mu.Unlock()
	finish := func() {
		x.completeMove(mb, server)
		if done != nil {
			done()
		}
	}
	if phase <= 0 {
		finish()
		return nil
	}
	t := x.clock.NewTimer(phase)
	go func() {
		defer x.hosting.phases.Done()
		select {
		case <-t.C():
			finish()
		case <-x.hosting.closed:
			t.Stop()
		}
	}()
	return nil
}

// completeMove puts the mailbox in its new place with new item ids.
func (x *Exchange) completeMove(mb *mailbox, server int) {
	mb.mu.Lock()
	renumbered := make(map[string]*item, len(mb.items))
	for _, id := range sortedKeys(mb.items) {
		it := mb.items[id]
		mb.itemSeq++
		it.id = itemIDFor(mb.index, mb.itemSeq)
		renumbered[it.id] = it
	}
	mb.items = renumbered
	mb.tombstones = map[string]tombstone{}
	mb.seq++
	mb.syncEpoch++
	mb.folderVersion++
	if server >= 0 {
		mb.server = server
	}
	mb.mu.Unlock()
	x.endMovedSubscriptions(mb)
	x.hosting.mu.Lock()
	if server >= 0 {
		delete(x.hosting.cloud, mb.smtp)
	} else {
		x.hosting.cloud[mb.smtp] = true
	}
	delete(x.hosting.moving, mb.smtp)
	x.hosting.mu.Unlock()
}

// endMovedSubscriptions drops mb's EWS subscriptions after a move (to
// another mailbox server or across premises) and tells the streaming
// connections that carry them, with ErrorSubscriptionNotFound for their
// ids; it returns how many it dropped. *choice*: Microsoft documents that
// a move loses the subscriptions but not what an open stream then sees; a
// subscription the server deleted is reported that way, and a silent
// stream (its other subscriptions still getting events and heartbeats)
// would leave the client serving the moved mailbox's old calendar until it
// reconnects on its own.
func (x *Exchange) endMovedSubscriptions(mb *mailbox) int {
	byConn := map[*streamConn][]string{}
	n := 0
	x.subs.mu.Lock()
	for _, s := range x.subs.byID {
		if s.mb != mb {
			continue
		}
		if s.conn != nil {
			byConn[s.conn] = append(byConn[s.conn], s.id)
		}
		x.subs.removeLocked(s)
		n++
	}
	x.subs.mu.Unlock()
	for c, ids := range byConn {
		sort.Strings(ids)
		c.mu.Lock()
		c.pending = append(c.pending, ewsserver.StreamMessage{Err: ewsserver.Fail(ews.ErrorSubscriptionNotFound, messageFor(ews.ErrorSubscriptionNotFound)), ErrorIDs: ids})
		c.mu.Unlock()
		c.wake()
	}
	return n
}
