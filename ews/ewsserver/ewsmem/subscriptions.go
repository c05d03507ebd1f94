package ewsmem

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// subscription is one notification subscription living in the memory of
// the mailbox server it was created on.
type subscription struct {
	id         string
	kind       ews.SubscriptionKind
	mb         *mailbox
	owner      string
	server     int
	allFolders bool
	// calendar is set when the folder list names the calendar; a
	// subscription to empty folders only (inbox, …) never sees an event.
	calendar bool
	// msgRoot is set when the folder list names msgfolderroot, the
	// calendar's parent: it sees the calendar folder's own ModifiedEvent.
	msgRoot bool
	types   map[ews.EventType]bool

	wmSeq         uint64
	lastWatermark string
	queue         []ews.Event
	deferred      []ews.Event // duplicates released after the next delivery
	overflow      bool

	// pull
	timeout    time.Duration
	lastUsed   time.Time
	readFailed bool
	// streaming
	conn       *streamConn
	detachedAt time.Time
	// push
	url             string
	statusFrequency time.Duration
	push            *pusher
}

// subscriptions is the subscription table of all servers.
type subscriptions struct {
	x         *Exchange
	mu        sync.Mutex
	byID      map[string]*subscription
	byMailbox map[*mailbox]map[string]*subscription
	conns     map[*streamConn]bool
	// pos is the position of the last published event; history the
	// recent events (eventhistory.go).
	pos     uint64
	history []historyEntry
}

func newSubscriptions(x *Exchange) *subscriptions {
	return &subscriptions{x: x, byID: map[string]*subscription{}, byMailbox: map[*mailbox]map[string]*subscription{}, conns: map[*streamConn]bool{}}
}

// newSubscriptionID builds an id like Exchange 2013+: base64 of a 2-byte
// FQDN length, the FQDN, a GUID and the creation time.
func newSubscriptionID(fqdn string, now time.Time) string {
	b := make([]byte, 0, 2+len(fqdn)+16+8)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(fqdn)))
	b = append(b, fqdn...)
	var guid [16]byte
	_, _ = rand.Read(guid[:])
	b = append(b, guid[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(now.UnixNano()))
	return base64.StdEncoding.EncodeToString(b)
}

// subscriptionServer decodes the FQDN from a subscription id.
func subscriptionServer(id string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(b) < 2 {
		return "", false
	}
	n := int(binary.LittleEndian.Uint16(b))
	if len(b) != 2+n+16+8 {
		return "", false
	}
	return string(b[2 : 2+n]), true
}

// wants reports whether the subscription receives an event.
func (s *subscription) wants(e ews.Event) bool {
	if !s.types[e.Type] {
		return false
	}
	if s.allFolders {
		return true
	}
	if e.ItemId == nil {
		// The calendar folder's own ModifiedEvent belongs to its parent's
		// subscriptions, not to the calendar's.
		return s.msgRoot
	}
	return s.calendar
}

// publishLocked fans a change burst out to the mailbox's subscriptions.
// Caller holds mb.mu.
func (t *subscriptions) publishLocked(mb *mailbox, events []ews.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	positions := t.recordLocked(mb, events)
	subs := t.byMailbox[mb]
	if len(subs) == 0 {
		return
	}
	for _, s := range subs {
		var add []ews.Event
		var pos []uint64
		for i, e := range events {
			if s.wants(e) {
				add = append(add, e)
				pos = append(pos, positions[i])
			}
		}
		if s.allFolders && s.types[ews.EventCreated] && len(add) > 0 {
			add = append(add, transientFreeBusyEvents(mb, events[0].TimeStamp)...)
		}
		if len(add) == 0 {
			continue
		}
		for i := range add {
			if s.kind != ews.SubscriptionStreaming {
				p := t.pos // the transient items are not in the history
				if i < len(pos) {
					p = pos[i]
				}
				add[i].Watermark = s.nextWatermarkLocked(p)
			}
		}
		s.queue = append(s.queue, add...)
		if !t.x.opts.NoDuplicates {
			for _, e := range add {
				if e.Type == ews.EventModified && e.ItemId != nil {
					d := e
					if s.kind != ews.SubscriptionStreaming {
						d.Watermark = ""
					}
					s.deferred = append(s.deferred, d)
				}
			}
		}
		if s.kind == ews.SubscriptionStreaming && len(s.queue) > t.x.opts.StreamingQueue {
			s.queue, s.deferred = nil, nil
			s.overflow = true
		}
		if s.conn != nil {
			s.conn.wake()
		}
		if s.push != nil {
			s.push.wake()
		}
	}
}

// transientFreeBusyEvents is the short-lived IPM.SchedulePlus.FreeBusy
// item Exchange writes when a calendar changes.
func transientFreeBusyEvents(mb *mailbox, now time.Time) []ews.Event {
	fb := ews.FolderId{Id: encodeID("F", fmt.Sprint(mb.index), "9"), ChangeKey: "AQAAAA=="}
	tmp := ews.ItemId{Id: encodeID("I", fmt.Sprint(mb.index), "999999999"), ChangeKey: "CQAAAA=="}
	f1, f2, t1, t2 := fb, fb, tmp, tmp
	return []ews.Event{
		{Type: ews.EventCreated, TimeStamp: now, ItemId: &t1, ParentFolderId: &f1, UnreadCount: -1},
		{Type: ews.EventDeleted, TimeStamp: now, ItemId: &t2, ParentFolderId: &f2, UnreadCount: -1},
	}
}

// takeLocked dequeues up to n events, collapsing repeated ModifiedEvents for
// the same object and parent to the latest, and releases deferred
// duplicates for the next batch. more reports whether events beyond the
// batch were already queued (the duplicates released now do not count: they
// arrive with the next read, as a real server's late store writes do).
func (s *subscription) takeLocked(n int) (batchOut []ews.Event, more bool) {
	if n > len(s.queue) {
		n = len(s.queue)
	}
	batch := s.queue[:n]
	s.queue = append([]ews.Event(nil), s.queue[n:]...)
	more = len(s.queue) > 0
	out := make([]ews.Event, 0, len(batch))
	seen := map[string]int{}
	for _, e := range batch {
		if e.Type == ews.EventModified {
			key := eventObjectKey(e)
			if i, ok := seen[key]; ok {
				out[i] = e
				continue
			}
			seen[key] = len(out)
		}
		out = append(out, e)
	}
	if len(s.deferred) > 0 {
		for _, d := range s.deferred {
			if s.kind != ews.SubscriptionStreaming {
				d.Watermark = s.nextWatermarkLocked(s.mb.x.subs.pos)
			}
			s.queue = append(s.queue, d)
		}
		s.deferred = nil
	}
	return out, more
}

func eventObjectKey(e ews.Event) string {
	var obj, parent string
	if e.ItemId != nil {
		obj = "i" + e.ItemId.Id
	} else if e.FolderId != nil {
		obj = "f" + e.FolderId.Id
	}
	if e.ParentFolderId != nil {
		parent = e.ParentFolderId.Id
	}
	return obj + "|" + parent
}

// Subscribe implements ewsserver.BackendNotifications.
func (x *Exchange) Subscribe(ctx context.Context, c *ewsserver.Caller, req ewsserver.SubscribeRequest) (ewsserver.SubscribeResult, error) {
	target := c.Mailbox()
	for _, f := range req.Folders {
		if f.Distinguished != nil && f.Distinguished.Mailbox != "" {
			target = strings.ToLower(f.Distinguished.Mailbox)
		}
	}
	mb, err := x.accessMailbox(c, target)
	if err != nil {
		return ewsserver.SubscribeResult{}, err
	}
	if c.Impersonation.IsZero() && target != strings.ToLower(c.Account) {
		return ewsserver.SubscribeResult{}, ewsserver.Fail(ews.ErrorSubscriptionDelegateAccessNotSupported, "Subscriptions are not supported for delegate user access.")
	}
	calendar, msgRoot := false, false
	if !req.AllFolders {
		if len(req.Folders) == 0 {
			return ewsserver.SubscribeResult{}, ewsserver.Fail(ews.ErrorInvalidSubscriptionRequest, "The subscription request must name folders or SubscribeToAllFolders.")
		}
		for _, f := range req.Folders {
			if name, ok := itemlessFolder(mb, f); ok {
				msgRoot = msgRoot || name == ews.FolderMsgRoot
				continue
			}
			calendar = true
			if err := x.checkCalendarFolder(mb, f); err != nil {
				return ewsserver.SubscribeResult{}, err
			}
		}
	}
	types := map[ews.EventType]bool{}
	for _, t := range req.EventTypes {
		if !t.Subscribable() {
			return ewsserver.SubscribeResult{}, ewsserver.Failf(ews.ErrorInvalidSubscriptionRequest, "Event type %s cannot be subscribed to.", t)
		}
		types[t] = true
	}
	if len(types) == 0 {
		return ewsserver.SubscribeResult{}, ewsserver.Fail(ews.ErrorInvalidSubscriptionRequest, "No event types.")
	}
	now := x.clock.Now()
	s := &subscription{kind: req.Kind, mb: mb, allFolders: req.AllFolders, calendar: calendar, msgRoot: msgRoot, types: types, lastUsed: now, detachedAt: now}
	switch req.Kind {
	case ews.SubscriptionPull:
		if req.Timeout < 1 || req.Timeout > 1440 {
			return ewsserver.SubscribeResult{}, ewsserver.Fault(ews.ErrorSchemaValidation, "The request failed schema validation: Timeout must be between 1 and 1440.")
		}
		s.timeout = time.Duration(req.Timeout) * time.Minute
		s.owner = c.Mailbox()
	case ews.SubscriptionStreaming:
		s.owner = strings.ToLower(c.Account)
	case ews.SubscriptionPush:
		if !(strings.HasPrefix(req.URL, "http://") || strings.HasPrefix(req.URL, "https://")) || len(req.URL) >= 2083 {
			return ewsserver.SubscribeResult{}, ewsserver.Fail(ews.ErrorInvalidPushSubscriptionUrl, "The push subscription URL is invalid.")
		}
		freq := req.StatusFrequency
		if freq == 0 {
			freq = 30
		}
		if freq < 1 || freq > 1440 {
			return ewsserver.SubscribeResult{}, ewsserver.Fault(ews.ErrorSchemaValidation, "The request failed schema validation: StatusFrequency must be between 1 and 1440.")
		}
		s.url, s.statusFrequency = req.URL, time.Duration(freq)*time.Minute
		s.owner = c.Mailbox()
	default:
		return ewsserver.SubscribeResult{}, ewsserver.Fail(ews.ErrorInvalidSubscriptionRequest, "Unknown subscription kind.")
	}
	server := x.route(c)
	if c.PreferServerAffinity && c.BackEndOverrideCookie == "" && strings.EqualFold(c.AnchorMailbox, target) {
		c.SetCookie = fmt.Sprintf("%s~%d", x.servers[server], 1941996295+server)
	}
	s.server = server
	s.id = newSubscriptionID(x.servers[server], now)

	x.subs.mu.Lock()
	x.sweepLocked(mb, now)
	policy := x.throttle.currentPolicy()
	if limited(policy.MaxSubscriptions) && len(x.subs.byMailbox[mb]) >= policy.MaxSubscriptions {
		x.subs.mu.Unlock()
		x.throttle.count("ErrorExceededSubscriptionCount")
		return ewsserver.SubscribeResult{}, ewsserver.Fail(ews.ErrorExceededSubscriptionCount, "You have exceeded the available subscriptions for your account.")
	}
	if req.Watermark != "" {
		// Replay the events since the watermark (pull and push; streaming
		// requests carry none).
		from, ok := x.watermarkPosition(req.Watermark)
		if !ok || !x.subs.replayLocked(s, from) {
			x.subs.mu.Unlock()
			return ewsserver.SubscribeResult{}, ewsserver.Fail(ews.ErrorInvalidWatermark, "The watermark is invalid.")
		}
	}
	s.lastWatermark = s.nextWatermarkLocked(x.subs.pos)
	x.subs.byID[s.id] = s
	if x.subs.byMailbox[mb] == nil {
		x.subs.byMailbox[mb] = map[string]*subscription{}
	}
	x.subs.byMailbox[mb][s.id] = s
	x.subs.mu.Unlock()
	if s.kind == ews.SubscriptionPush {
		x.startPush(s)
	}
	res := ewsserver.SubscribeResult{SubscriptionId: s.id}
	if s.kind != ews.SubscriptionStreaming {
		res.Watermark = s.lastWatermark
	}
	return res, nil
}

// sweepLocked deletes the mailbox's subscriptions that outlived their
// timeout (pull) or TTL without a connection (streaming), as the server's
// sweeper does, so they stop counting against EWSMaxSubscriptions.
func (x *Exchange) sweepLocked(mb *mailbox, now time.Time) {
	for _, s := range x.subs.byMailbox[mb] {
		switch {
		case s.kind == ews.SubscriptionPull && now.Sub(s.lastUsed) > s.timeout,
			s.kind == ews.SubscriptionStreaming && s.conn == nil && now.Sub(s.detachedAt) > x.opts.StreamingTTL:
			x.subs.removeLocked(s)
		}
	}
}

func (t *subscriptions) removeLocked(s *subscription) {
	delete(t.byID, s.id)
	if m := t.byMailbox[s.mb]; m != nil {
		delete(m, s.id)
		if len(m) == 0 {
			delete(t.byMailbox, s.mb)
		}
	}
	if s.conn != nil {
		s.conn.wake()
	}
	if s.push != nil {
		s.push.stop()
	}
}

// lookupLocked finds a subscription as the routed server sees it.
func (x *Exchange) lookupLocked(c *ewsserver.Caller, id string, routed int, multi bool) (*subscription, error) {
	fqdn, ok := subscriptionServer(id)
	if !ok {
		return nil, ewsserver.Fail(ews.ErrorInvalidSubscription, "The subscription is invalid.")
	}
	server, known := x.serverIndex(fqdn)
	if !known {
		return nil, ewsserver.Fail(ews.ErrorSubscriptionNotFound, "The specified subscription was not found.")
	}
	if server != routed {
		switch {
		case !x.affinityGiven(c):
			// Landed on a random back end that does not know the id.
			return nil, ewsserver.Fail(ews.ErrorSubscriptionNotFound, "The specified subscription was not found.")
		case multi:
			return nil, ewsserver.Fail(ews.ErrorProxyRequestNotAllowed, "The subscription is on another server; proxying several subscriptions is not allowed.")
		case x.conditions.ProxyFailing():
			return nil, ewsserver.Fail(ews.ErrorProxiedSubscriptionCallFailure, "The proxied subscription call failed.")
		}
	}
	s := x.subs.byID[id]
	if s == nil {
		return nil, ewsserver.Fail(ews.ErrorSubscriptionNotFound, "The specified subscription was not found.")
	}
	now := x.clock.Now()
	switch s.kind {
	case ews.SubscriptionPull:
		if now.Sub(s.lastUsed) > s.timeout {
			x.subs.removeLocked(s)
			return nil, ewsserver.Fail(ews.ErrorExpiredSubscription, "The subscription has expired.")
		}
	case ews.SubscriptionStreaming:
		if s.conn == nil && now.Sub(s.detachedAt) > x.opts.StreamingTTL {
			x.subs.removeLocked(s)
			return nil, ewsserver.Fail(ews.ErrorSubscriptionNotFound, "The specified subscription was not found.")
		}
	}
	return s, nil
}

// GetEvents implements ewsserver.BackendNotifications.
func (x *Exchange) GetEvents(ctx context.Context, c *ewsserver.Caller, id, watermark string) (ews.Notification, error) {
	routed := x.route(c)
	x.subs.mu.Lock()
	defer x.subs.mu.Unlock()
	s, err := x.lookupLocked(c, id, routed, false)
	if err != nil {
		return ews.Notification{}, err
	}
	if s.kind != ews.SubscriptionPull {
		return ews.Notification{}, ewsserver.Fail(ews.ErrorInvalidPullSubscriptionId, "The subscription is not a pull subscription.")
	}
	if s.owner != c.Mailbox() {
		return ews.Notification{}, ewsserver.Fail(ews.ErrorSubscriptionAccessDenied, "The subscription belongs to another user.")
	}
	if s.readFailed {
		x.subs.removeLocked(s)
		return ews.Notification{}, ewsserver.Fail(ews.ErrorReadEventsFailed, "Events could not be read; the subscription was deleted.")
	}
	if watermark != s.lastWatermark {
		return ews.Notification{}, ewsserver.Fail(ews.ErrorInvalidWatermark, "The watermark is invalid.")
	}
	s.lastUsed = x.clock.Now()
	n := ews.Notification{SubscriptionId: id, PreviousWatermark: watermark}
	n.Events, n.MoreEvents = s.takeLocked(x.opts.MaxEventsPerGetEvents)
	if len(n.Events) == 0 {
		n.Events = []ews.Event{{Type: ews.EventStatus, Watermark: s.nextWatermarkLocked(x.subs.pos), UnreadCount: -1}}
	}
	s.lastWatermark = n.Events[len(n.Events)-1].Watermark
	return n, nil
}

// Unsubscribe implements ewsserver.BackendNotifications.
func (x *Exchange) Unsubscribe(ctx context.Context, c *ewsserver.Caller, id string) error {
	routed := x.route(c)
	x.subs.mu.Lock()
	defer x.subs.mu.Unlock()
	s, err := x.lookupLocked(c, id, routed, false)
	if err != nil {
		return err
	}
	if s.kind == ews.SubscriptionPush {
		return ewsserver.Fail(ews.ErrorInvalidPullSubscriptionId, "Push subscriptions cannot be unsubscribed; answer Unsubscribe to a notification.")
	}
	owner := c.Mailbox()
	if s.kind == ews.SubscriptionStreaming {
		owner = strings.ToLower(c.Account)
	}
	if s.owner != owner {
		return ewsserver.Fail(ews.ErrorSubscriptionAccessDenied, "The subscription belongs to another user.")
	}
	x.subs.removeLocked(s)
	return nil
}

// dropSubscriptions deletes every subscription (a server restart);
// onlyServer ≥ 0 limits it to one server.
func (x *Exchange) dropSubscriptions(onlyServer int) int {
	x.subs.mu.Lock()
	defer x.subs.mu.Unlock()
	n := 0
	for _, s := range x.subs.byID {
		if onlyServer >= 0 && s.server != onlyServer {
			continue
		}
		x.subs.removeLocked(s)
		n++
	}
	return n
}

// expireSubscriptions makes every subscription look idle past its timeout
// or TTL, as if the sweeper were about to delete it.
func (x *Exchange) expireSubscriptions() int {
	x.subs.mu.Lock()
	defer x.subs.mu.Unlock()
	long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for _, s := range x.subs.byID {
		s.lastUsed, s.detachedAt = long, long
		if s.conn != nil {
			s.conn.closeSoon()
		}
		n++
	}
	return n
}

func (x *Exchange) subscriptionCount() (total int, byKind map[string]int) {
	x.subs.mu.Lock()
	defer x.subs.mu.Unlock()
	byKind = map[string]int{}
	for _, s := range x.subs.byID {
		byKind[string(s.kind)]++
	}
	return len(x.subs.byID), byKind
}
