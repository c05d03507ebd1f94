package hybridexchange

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
)

// world is a hybrid organisation in a test: where each mailbox lives
// (a side, "moving", or nowhere), its occurrences and a change counter.
// Each side answers as graph-facts.md §6 says: EWS ErrorNonExistentMailbox
// for a mailbox not on premises and ErrorMailboxMoveInProgress while it
// moves; Graph MailboxNotEnabledForRESTAPI for anything not in the cloud.
type world struct {
	mu      sync.Mutex
	where   map[string]Side // "" = nowhere; moving → see moving
	moving  map[string]bool
	items   map[string][]calendar.Occurrence
	gen     map[string]int
	refused map[string]int    // answers refusing a moving mailbox
	subGen  map[string]string // EWS subscription id → generation its events start after
	calls   map[string]int    // "side op smtp"
	changed chan struct{}     // closed and replaced on every change
}

func newWorld() *world {
	return &world{where: map[string]Side{}, moving: map[string]bool{}, items: map[string][]calendar.Occurrence{},
		gen: map[string]int{}, subGen: map[string]string{}, refused: map[string]int{}, calls: map[string]int{}, changed: make(chan struct{})}
}

func (w *world) changedLocked(smtp string) {
	w.gen[smtp]++
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *world) put(smtp string, side Side, occs ...calendar.Occurrence) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.where[smtp] = side
	w.items[smtp] = occs
	w.changedLocked(smtp)
}

// startMove puts a mailbox "in move": both sides refuse it for now.
func (w *world) startMove(smtp string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.moving[smtp] = true
	w.changedLocked(smtp)
}

// endMove lands the mailbox on side with new item ids (ids do not
// survive a cross-premises move).
func (w *world) endMove(smtp string, side Side) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.moving, smtp)
	w.where[smtp] = side
	occs := slices.Clone(w.items[smtp])
	for i := range occs {
		occs[i].ItemID = fmt.Sprintf("%s-moved-%d-%d", side, w.gen[smtp], i)
	}
	w.items[smtp] = occs
	w.changedLocked(smtp)
}

func (w *world) refusals(smtp string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused[smtp]
}

func (w *world) count(side Side, op, smtp string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[string(side)+" "+op+" "+smtp]
}

func (w *world) host(smtp string) Side {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.moving[smtp] {
		return ""
	}
	return w.where[smtp]
}

func (w *world) snapshot(smtp string) []calendar.Occurrence {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.items[smtp])
}

// fakeSide is one side's protocol face over the world.
type fakeSide struct {
	w    *world
	side Side
}

func (f *fakeSide) check(op, smtp string) error {
	w := f.w
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[string(f.side)+" "+op+" "+smtp]++
	if w.moving[smtp] {
		w.refused[smtp]++
	}
	switch {
	case f.side == OnPremises && w.moving[smtp]:
		return &engine.ExchangeError{Code: "ErrorMailboxMoveInProgress", HTTPStatus: 500}
	case f.side == Cloud && (w.moving[smtp] || w.where[smtp] != Cloud):
		return &engine.ExchangeError{Code: "MailboxNotEnabledForRESTAPI", HTTPStatus: 404}
	case w.where[smtp] != f.side:
		return &engine.ExchangeError{Code: "ErrorNonExistentMailbox", HTTPStatus: 500}
	}
	return nil
}

func (f *fakeSide) Discover(_ context.Context, smtps []string) ([]engine.DiscoverResult, error) {
	out := make([]engine.DiscoverResult, len(smtps))
	for i, s := range smtps {
		f.w.mu.Lock()
		f.w.calls[string(f.side)+" Discover "+s]++
		f.w.mu.Unlock()
		if f.side == Cloud {
			out[i] = engine.DiscoverResult{SMTP: s, EWSURL: "https://graph.test/v1.0/users/" + s, GroupingInformation: "graph"}
		} else {
			// Exchange Server's Autodiscover answers for a RemoteUserMailbox
			// too; only its operations show the mailbox is elsewhere.
			out[i] = engine.DiscoverResult{SMTP: s, EWSURL: "https://ews.test/EWS/Exchange.asmx", GroupingInformation: "site1"}
		}
	}
	return out, nil
}

func (f *fakeSide) CalendarView(_ context.Context, t engine.Target, start, end time.Time, _ int) (engine.ViewPage, error) {
	if err := f.check("CalendarView", t.SMTP); err != nil {
		return engine.ViewPage{}, err
	}
	var p engine.ViewPage
	for _, o := range f.w.snapshot(t.SMTP) {
		if o.End.After(start) && o.Start.Before(end) {
			p.Occurrences = append(p.Occurrences, o)
		}
	}
	p.IncludesLastItemInRange, p.TotalItemsInView = true, len(p.Occurrences)
	return p, nil
}

func (f *fakeSide) OOF(_ context.Context, t engine.Target) (calendar.OOFSettings, error) {
	return calendar.OOFSettings{State: calendar.OOFDisabled}, f.check("OOF", t.SMTP)
}

func (f *fakeSide) MailboxTimeZone(_ context.Context, t engine.Target) (string, error) {
	return "", f.check("MailboxTimeZone", t.SMTP)
}

func (f *fakeSide) gen(smtp string) string {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	return strconv.Itoa(f.w.gen[smtp])
}

func (f *fakeSide) Subscribe(_ context.Context, t engine.Target, req engine.SubscribeRequest) (engine.Subscription, error) {
	if f.side == Cloud && req.Mode == engine.Streaming {
		return engine.Subscription{}, &engine.ExchangeError{Code: "ErrorInvalidSubscription", Err: fmt.Errorf("no streaming on Graph")}
	}
	if err := f.check("Subscribe", t.SMTP); err != nil {
		return engine.Subscription{}, err
	}
	g := f.gen(t.SMTP)
	id := string(f.side) + "|" + t.SMTP
	f.w.mu.Lock()
	f.w.subGen[id] = g // events queue from here on, as on Exchange
	f.w.mu.Unlock()
	return engine.Subscription{ID: id, Watermark: string(f.side) + "|" + g}, nil
}

func (f *fakeSide) GetEvents(_ context.Context, t engine.Target, _, watermark string) (engine.EventBatch, error) {
	if err := f.check("GetEvents", t.SMTP); err != nil {
		return engine.EventBatch{}, err
	}
	side, was, ok := strings.Cut(watermark, "|")
	if !ok || side != string(f.side) {
		return engine.EventBatch{}, &engine.ExchangeError{Code: "ErrorInvalidWatermark"}
	}
	g := f.gen(t.SMTP)
	b := engine.EventBatch{Watermark: string(f.side) + "|" + g}
	if g != was {
		b.Events = []engine.Event{{Kind: engine.EventModified}}
	}
	return b, nil
}

func (f *fakeSide) OpenStream(ctx context.Context, t engine.Target, ids []string, _ time.Duration) (engine.Stream, error) {
	if f.side == Cloud {
		return nil, &engine.ExchangeError{Code: "ErrorInvalidSubscription", Err: fmt.Errorf("no streaming on Graph")}
	}
	if err := f.check("OpenStream", t.SMTP); err != nil {
		return nil, err
	}
	s := &fakeStream{f: f, seen: map[string]string{}, done: make(chan struct{})}
	f.w.mu.Lock()
	for _, id := range ids {
		s.ids = append(s.ids, id)
		s.seen[id] = f.w.subGen[id]
	}
	f.w.mu.Unlock()
	return s, nil
}

func (f *fakeSide) Unsubscribe(context.Context, engine.Target, string) error { return nil }

func (f *fakeSide) OOFTipLimit(context.Context) int {
	if f.side == Cloud {
		return 3
	}
	return 5
}

func (f *fakeSide) OOFTips(_ context.Context, smtps []string) ([]engine.OOFTip, error) {
	if len(smtps) > f.OOFTipLimit(context.Background()) {
		return nil, fmt.Errorf("%s: %d mailboxes in one tips call, over the limit", f.side, len(smtps))
	}
	out := make([]engine.OOFTip, len(smtps))
	for i, s := range smtps {
		out[i] = engine.OOFTip{SMTP: s, Fingerprint: "", Err: f.check("OOFTips", s)}
	}
	return out, nil
}

// fakeStream is an EWS streaming connection over the world: an OK at
// once, then a notification for each id whose mailbox changed, and the
// ids of mailboxes no longer on premises as failed (Exchange drops the
// subscriptions of a moved mailbox).
type fakeStream struct {
	f       *fakeSide
	ids     []string
	seen    map[string]string
	started bool
	once    sync.Once
	done    chan struct{}
}

func (s *fakeStream) Next(ctx context.Context) (engine.StreamMessage, error) {
	if !s.started {
		s.started = true
		return engine.StreamMessage{Status: "OK"}, nil
	}
	for {
		s.f.w.mu.Lock()
		wake := s.f.w.changed
		var msg engine.StreamMessage
		keep := s.ids[:0]
		for _, id := range s.ids {
			smtp := strings.TrimPrefix(id, string(OnPremises)+"|")
			if s.f.w.moving[smtp] || s.f.w.where[smtp] != OnPremises {
				msg.Failures = append(msg.Failures, engine.StreamFailure{Err: &engine.ExchangeError{Code: "ErrorSubscriptionNotFound"}, SubscriptionIDs: []string{id}})
				continue
			}
			keep = append(keep, id)
			if g := strconv.Itoa(s.f.w.gen[smtp]); g != s.seen[id] {
				s.seen[id] = g
				s.f.w.subGen[id] = g
				msg.Notifications = append(msg.Notifications, engine.Notification{SubscriptionID: id, Events: []engine.Event{{Kind: engine.EventModified}}})
			}
		}
		s.ids = keep
		s.f.w.mu.Unlock()
		if len(msg.Failures)+len(msg.Notifications) > 0 {
			return msg, nil
		}
		select {
		case <-wake:
		case <-s.done:
			return engine.StreamMessage{}, errClosed
		case <-ctx.Done():
			return engine.StreamMessage{}, ctx.Err()
		}
	}
}

func (s *fakeStream) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}
