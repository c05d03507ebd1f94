package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calsync/calsync/calendar"
)

// fakeExchange is an in-package stand-in for Exchange used by the unit
// tests of the state machine, grouping, budget and coalescing. The proof of
// the engine runs against the real simulator (see e2e tests).
type fakeExchange struct {
	mu        sync.Mutex
	items     map[string][]calendar.Occurrence // smtp → occurrences
	grouping  map[string]string
	denied    map[string]bool
	subs      map[string]string // sub id → smtp
	queues    map[string][]Event
	watermark map[string]int
	given     map[string]string // pull sub id → last watermark handed out
	streams   map[*fakeStream]bool
	calls     map[string]int // op → count
	perMbx    map[string]int // "op smtp" → count
	seq       int
	cookie    string
	targets   []Target // Subscribe targets
	openIDs   [][]string
	fail      func(op, smtp string) error // injected failures
	viewMax   int                         // truncate CalendarView answers to this many (0 = no limit)
	afterView func(smtp string)           // runs after a CalendarView took its snapshot
	oof       calendar.OOFState           // automatic-replies state to report ("" = Disabled)
	more      bool                        // GetEvents with events answers MoreEvents=true
	unknown   map[string]bool             // mailboxes Autodiscover answers InvalidUser for
	inflight  int
	maxFlight int
	// streamPanic makes the next message read from a stream panic (a
	// parser blowing up on a hostile envelope).
	streamPanic atomic.Bool
	// openHang makes this many OpenStream calls hang until their context
	// ends (a front end that accepts the connection and never answers).
	openHang atomic.Int32
	// openGate, when set, may hold an OpenStream until the channel it
	// returns for the request's ids is closed (openIDs records the opens
	// in the order they were answered).
	openGate func(ids []string) <-chan struct{}
}

func newFakeExchange() *fakeExchange {
	return &fakeExchange{
		items: map[string][]calendar.Occurrence{}, grouping: map[string]string{}, denied: map[string]bool{},
		subs: map[string]string{}, queues: map[string][]Event{}, watermark: map[string]int{}, given: map[string]string{},
		streams: map[*fakeStream]bool{}, calls: map[string]int{}, perMbx: map[string]int{},
		cookie: "be1.example.org~1",
	}
}

func (f *fakeExchange) enter(op, smtp string) error {
	f.mu.Lock()
	f.calls[op]++
	f.perMbx[op+" "+smtp]++
	f.inflight++
	f.maxFlight = max(f.maxFlight, f.inflight)
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		return fail(op, smtp)
	}
	return nil
}

// setFail installs the injected failures; tests call it also while the
// engine runs (every request reads f.fail under f.mu).
func (f *fakeExchange) setFail(fail func(op, smtp string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

// setOOF sets the automatic-replies state GetUserOofSettings answers.
func (f *fakeExchange) setOOF(state calendar.OOFState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oof = state
}

func (f *fakeExchange) leave() {
	f.mu.Lock()
	f.inflight--
	f.mu.Unlock()
}

func (f *fakeExchange) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeExchange) countFor(op, smtp string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.perMbx[op+" "+smtp]
}

// put replaces the occurrences of a mailbox and notifies its subscriptions.
func (f *fakeExchange) put(smtp string, occs ...calendar.Occurrence) {
	f.mu.Lock()
	f.items[smtp] = occs
	var ids []string
	for id, s := range f.subs {
		if s == smtp {
			ids = append(ids, id)
		}
	}
	streams := make([]*fakeStream, 0, len(f.streams))
	for s := range f.streams {
		streams = append(streams, s)
	}
	for _, id := range ids {
		f.watermark[id]++
		f.queues[id] = append(f.queues[id], Event{Kind: EventModified, ItemID: "x", Watermark: fmt.Sprint(f.watermark[id])})
	}
	f.mu.Unlock()
	for _, s := range streams {
		for _, id := range ids {
			if slices.Contains(s.ids, id) {
				s.send(StreamMessage{Notifications: []Notification{{SubscriptionID: id, Events: []Event{{Kind: EventModified}}}}})
			}
		}
	}
}

// failStreams sends a failure for every open stream's ids (as after a
// server restart) and forgets all subscriptions.
func (f *fakeExchange) restart() {
	f.mu.Lock()
	f.subs = map[string]string{}
	streams := make([]*fakeStream, 0, len(f.streams))
	for s := range f.streams {
		streams = append(streams, s)
	}
	f.mu.Unlock()
	for _, s := range streams {
		s.send(StreamMessage{Failures: []StreamFailure{{Err: &ExchangeError{Code: "ErrorSubscriptionNotFound"}, SubscriptionIDs: s.ids}}})
	}
}

// queued reports the events waiting in the pull queues of smtp's subscriptions.
func (f *fakeExchange) queued(smtp string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for id, s := range f.subs {
		if s == smtp {
			n += len(f.queues[id])
		}
	}
	return n
}

// deny makes impersonation of smtp fail from now on.
func (f *fakeExchange) deny(smtp string) {
	f.mu.Lock()
	f.denied[smtp] = true
	f.mu.Unlock()
}

// streamWith reports whether an open stream carries exactly the current
// subscriptions of smtps.
func (f *fakeExchange) streamWith(smtps ...string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.streams {
		if len(s.ids) != len(smtps) {
			continue
		}
		ok := true
		for _, id := range s.ids {
			if !slices.Contains(smtps, f.subs[id]) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (f *fakeExchange) openStreams() []*fakeStream {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeStream
	for s := range f.streams {
		out = append(out, s)
	}
	return out
}

func (f *fakeExchange) Discover(ctx context.Context, smtps []string) ([]DiscoverResult, error) {
	if err := f.enter("Discover", ""); err != nil {
		return nil, err
	}
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]DiscoverResult, len(smtps))
	for i, s := range smtps {
		if f.unknown[s] {
			out[i] = DiscoverResult{SMTP: s, Err: &ExchangeError{Code: "ErrorNonExistentMailbox", Err: errors.New("autodiscover: InvalidUser")}}
			continue
		}
		g := f.grouping[s]
		if g == "" {
			g = "site1"
		}
		out[i] = DiscoverResult{SMTP: s, EWSURL: "https://ex.example.org/EWS/Exchange.asmx", GroupingInformation: g}
	}
	return out, nil
}

func (f *fakeExchange) CalendarView(ctx context.Context, t Target, start, end time.Time, maxEntries int) (ViewPage, error) {
	if err := f.enter("CalendarView", t.SMTP); err != nil {
		return ViewPage{}, err
	}
	defer f.leave()
	f.mu.Lock()
	if hook := f.afterView; hook != nil {
		defer hook(t.SMTP) // runs after the unlock below
	}
	defer f.mu.Unlock()
	if f.denied[t.SMTP] {
		return ViewPage{}, &ExchangeError{Code: "ErrorImpersonateUserDenied", HTTPStatus: 500}
	}
	var out []calendar.Occurrence
	for _, o := range f.items[t.SMTP] {
		if o.Overlaps(start, end) {
			out = append(out, o)
		}
	}
	store := slices.Clone(out)
	slices.SortFunc(store, func(a, b calendar.Occurrence) int { return a.Start.Compare(b.Start) })
	limit := maxEntries
	if f.viewMax > 0 && f.viewMax < limit {
		limit = f.viewMax
	}
	if len(store) > limit {
		return ViewPage{Occurrences: store[:limit], IncludesLastItemInRange: false, TotalItemsInView: len(store)}, nil
	}
	return ViewPage{Occurrences: store, IncludesLastItemInRange: true, TotalItemsInView: len(store)}, nil
}

func (f *fakeExchange) OOF(ctx context.Context, t Target) (calendar.OOFSettings, error) {
	if err := f.enter("OOF", t.SMTP); err != nil {
		return calendar.OOFSettings{}, err
	}
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.oof != "" {
		return calendar.OOFSettings{State: f.oof}, nil
	}
	return calendar.OOFSettings{State: calendar.OOFDisabled}, nil
}

func (f *fakeExchange) Subscribe(ctx context.Context, t Target, req SubscribeRequest) (Subscription, error) {
	if err := f.enter("Subscribe", t.SMTP); err != nil {
		return Subscription{}, err
	}
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.denied[t.SMTP] {
		return Subscription{}, &ExchangeError{Code: "ErrorImpersonateUserDenied", HTTPStatus: 500}
	}
	f.seq++
	id := fmt.Sprintf("sub-%d-%s", f.seq, t.SMTP)
	f.subs[id] = t.SMTP
	f.targets = append(f.targets, t)
	sub := Subscription{ID: id, Watermark: fmt.Sprint(f.watermark[id])}
	f.given[id] = sub.Watermark
	if t.Anchor == t.SMTP && t.Cookie == "" {
		sub.Cookie = f.cookie
	}
	return sub, nil
}

func (f *fakeExchange) GetEvents(ctx context.Context, t Target, id, watermark string) (EventBatch, error) {
	if err := f.enter("GetEvents", t.SMTP); err != nil {
		return EventBatch{}, err
	}
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[id]; !ok {
		return EventBatch{}, &ExchangeError{Code: "ErrorSubscriptionNotFound"}
	}
	// Like Exchange, accept only the last watermark handed out: an older
	// one (a lost reply, a checkpoint from before a poll) is refused.
	if watermark != f.given[id] {
		return EventBatch{}, &ExchangeError{Code: "ErrorInvalidWatermark"}
	}
	q := f.queues[id]
	delete(f.queues, id)
	if len(q) == 0 {
		// A status event carries a fresh watermark, as in Exchange.
		f.watermark[id]++
	}
	wm := fmt.Sprint(f.watermark[id])
	f.given[id] = wm
	if len(q) == 0 {
		return EventBatch{Events: []Event{{Kind: EventStatus, Watermark: wm}}, Watermark: wm}, nil
	}
	return EventBatch{Events: q, Watermark: wm, MoreEvents: f.more}, nil
}

func (f *fakeExchange) OpenStream(ctx context.Context, t Target, ids []string, timeout time.Duration) (Stream, error) {
	if err := f.enter("OpenStream", t.SMTP); err != nil {
		return nil, err
	}
	defer f.leave()
	if f.openHang.Add(-1) >= 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	f.mu.Lock()
	denied, gate := f.denied[t.SMTP], f.openGate
	f.mu.Unlock()
	if gate != nil {
		if held := gate(ids); held != nil {
			select {
			case <-held:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if denied {
		// GetStreamingEvents impersonates t.SMTP.
		return nil, &ExchangeError{Code: "ErrorImpersonateUserDenied", HTTPStatus: 500}
	}
	s := &fakeStream{f: f, ids: slices.Clone(ids), target: t, ch: make(chan StreamMessage, 64), closed: make(chan struct{})}
	f.mu.Lock()
	f.streams[s] = true
	f.openIDs = append(f.openIDs, s.ids)
	var bad []string
	for _, id := range ids {
		if _, ok := f.subs[id]; !ok {
			bad = append(bad, id)
		}
	}
	f.mu.Unlock()
	s.ch <- StreamMessage{Status: "OK"}
	if len(bad) > 0 {
		s.ch <- StreamMessage{Failures: []StreamFailure{{Err: &ExchangeError{Code: "ErrorSubscriptionNotFound"}, SubscriptionIDs: bad}}}
	}
	return s, nil
}

func (f *fakeExchange) Unsubscribe(ctx context.Context, t Target, id string) error {
	if err := f.enter("Unsubscribe", t.SMTP); err != nil {
		return err
	}
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, id)
	return nil
}

type fakeStream struct {
	f      *fakeExchange
	ids    []string
	target Target
	ch     chan StreamMessage
	once   sync.Once
	closed chan struct{}
}

func (s *fakeStream) send(m StreamMessage) {
	select {
	case s.ch <- m:
	case <-s.closed:
	}
}

// cut ends the stream abruptly (network loss).
func (s *fakeStream) cut() { s.Close() }

func (s *fakeStream) Next(ctx context.Context) (StreamMessage, error) {
	select {
	case m := <-s.ch:
		if s.f.streamPanic.CompareAndSwap(true, false) {
			panic("stream parser blew up")
		}
		return m, nil
	case <-s.closed:
		return StreamMessage{}, io.ErrUnexpectedEOF
	case <-ctx.Done():
		return StreamMessage{}, ctx.Err()
	}
}

func (s *fakeStream) Close() error {
	s.once.Do(func() {
		close(s.closed)
		s.f.mu.Lock()
		delete(s.f.streams, s)
		s.f.mu.Unlock()
	})
	return nil
}
