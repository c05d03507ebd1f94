package ewsexchange

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// SimBackend is what InProcess needs from an EWS backend: the simulator
// (ewsmem.Exchange) satisfies it.
type SimBackend interface {
	ewsserver.Backend
	ewsserver.BackendAvailability
	ewsserver.BackendNotifications
	ewsserver.BackendAutodiscover
}

// InProcess implements engine.Exchange by calling an ewsserver backend
// directly, without HTTP and XML. It carries the same Caller information as
// a real request (impersonation, X-AnchorMailbox, X-PreferServerAffinity,
// the affinity cookie), so routing, throttling and faults behave as over
// the wire. Benchmarks and the fast chaos test use it; the wire path is
// proven by the tests over ewsclient. Safe for concurrent use.
type InProcess struct {
	backend SimBackend
	account string
	baseURL string
}

// NewInProcess returns an engine.Exchange over backend, authenticated as
// account (the service account with ApplicationImpersonation). baseURL is
// passed to Autodiscover.
func NewInProcess(backend SimBackend, account, baseURL string) *InProcess {
	return &InProcess{backend: backend, account: strings.ToLower(account), baseURL: baseURL}
}

func (p *InProcess) caller(op string, t engine.Target) *ewsserver.Caller {
	c := &ewsserver.Caller{Account: p.account, RequestVersion: ews.DefaultVersion, Operation: op,
		AnchorMailbox: t.SMTP, PreferServerAffinity: t.Affinity, BackEndOverrideCookie: t.Cookie}
	if t.SMTP != "" {
		c.Impersonation = ews.ImpersonateSMTP(t.SMTP)
	}
	if t.Anchor != "" {
		c.AnchorMailbox = t.Anchor
	}
	return c
}

// admit runs fn inside the backend's admission (impersonation check and
// throttling budget), as the HTTP handler does for each request.
func (p *InProcess) admit(ctx context.Context, c *ewsserver.Caller, fn func() error) error {
	release, err := p.backend.Admit(ctx, c)
	if err != nil {
		return classify(c.Operation, err)
	}
	defer release()
	return classify(c.Operation, fn())
}

// Discover implements engine.Exchange with GetUserSettings.
func (p *InProcess) Discover(ctx context.Context, smtps []string) ([]engine.DiscoverResult, error) {
	c := p.caller("GetUserSettings", engine.Target{})
	var res []ewsserver.UserSettings
	err := p.admit(ctx, c, func() error {
		var err error
		res, err = p.backend.GetUserSettings(ctx, c, p.baseURL, smtps, []string{"ExternalEwsUrl", "InternalEwsUrl", "GroupingInformation"})
		return err
	})
	if err != nil {
		return nil, err
	}
	return discoverResults(smtps, res), nil
}

// discoverResults maps GetUserSettings answers to engine results.
func discoverResults(smtps []string, res []ewsserver.UserSettings) []engine.DiscoverResult {
	out := make([]engine.DiscoverResult, len(smtps))
	for i, s := range smtps {
		out[i].SMTP = s
		if i >= len(res) {
			out[i].Err = &engine.ExchangeError{Code: "InvalidUser", Err: fmt.Errorf("ewsexchange: autodiscover returned no answer for %s", s)}
			continue
		}
		r := res[i]
		if r.ErrorCode != "" && r.ErrorCode != "NoError" {
			code := "ErrorNonExistentMailbox"
			out[i].Err = &engine.ExchangeError{Code: code, Err: fmt.Errorf("ewsexchange: autodiscover for %s: %s: %s", s, r.ErrorCode, r.Message)}
			continue
		}
		out[i].EWSURL = r.Settings["ExternalEwsUrl"]
		if out[i].EWSURL == "" {
			out[i].EWSURL = r.Settings["InternalEwsUrl"]
		}
		out[i].GroupingInformation = r.Settings["GroupingInformation"]
	}
	return out
}

// CalendarView implements engine.Exchange with FindItem + CalendarView.
func (p *InProcess) CalendarView(ctx context.Context, t engine.Target, start, end time.Time, maxEntries int) (engine.ViewPage, error) {
	c := p.caller("FindItem", engine.Target{SMTP: t.SMTP})
	var res ewsserver.FindItemResult
	err := p.admit(ctx, c, func() error {
		var err error
		res, err = p.backend.FindItem(ctx, c, ewsserver.FindItemRequest{Folder: ews.CalendarFolder(), Shape: "Default",
			CalendarView: &ewsserver.CalendarViewRequest{Start: start, End: end, MaxEntries: maxEntries, MaxGiven: true}})
		return err
	})
	if err != nil {
		return engine.ViewPage{}, err
	}
	return viewPage(res.Items, res.IncludesLastInRange, res.TotalItemsInView)
}

// viewPage converts CalendarView items into a recycled slice the engine
// releases when its read is done (occbuffer.go).
func viewPage(items []ews.CalendarItem, last bool, total int) (engine.ViewPage, error) {
	b := takeOccurrences(len(items))
	for i := range items {
		o, err := Occurrence(&items[i])
		if err != nil {
			b.release()
			return engine.ViewPage{}, &engine.ExchangeError{Code: "ErrorInvalidResponse", Err: err}
		}
		b.occs = append(b.occs, o)
	}
	return engine.ViewPage{IncludesLastItemInRange: last, TotalItemsInView: total, Occurrences: b.occs, Release: b.release}, nil
}

// OOF implements engine.Exchange with GetUserOofSettings.
func (p *InProcess) OOF(ctx context.Context, t engine.Target) (calendar.OOFSettings, error) {
	c := p.caller("GetUserOofSettings", engine.Target{SMTP: t.SMTP})
	var s ews.OofSettings
	err := p.admit(ctx, c, func() error {
		var err error
		s, err = p.backend.GetUserOofSettings(ctx, c, t.SMTP)
		return err
	})
	if err != nil {
		return calendar.OOFSettings{}, err
	}
	return OOF(s), nil
}

// subscribedEvents are the calendar events calsync listens to.
var subscribedEvents = []ews.EventType{ews.EventCreated, ews.EventDeleted, ews.EventModified, ews.EventMoved, ews.EventCopied, ews.EventFreeBusyChanged}

// Subscribe implements engine.Exchange.
func (p *InProcess) Subscribe(ctx context.Context, t engine.Target, req engine.SubscribeRequest) (engine.Subscription, error) {
	c := p.caller("Subscribe", t)
	sr := ewsserver.SubscribeRequest{Kind: ews.SubscriptionStreaming, Folders: []ews.FolderRef{ews.CalendarFolder()}, EventTypes: subscribedEvents}
	if req.Mode == engine.Pull {
		sr.Kind = ews.SubscriptionPull
		sr.Watermark = req.Watermark
		sr.Timeout = int(req.Timeout / time.Minute)
	}
	var res ewsserver.SubscribeResult
	err := p.admit(ctx, c, func() error {
		var err error
		res, err = p.backend.Subscribe(ctx, c, sr)
		return err
	})
	if err != nil {
		return engine.Subscription{}, err
	}
	return engine.Subscription{ID: res.SubscriptionId, Watermark: res.Watermark, Cookie: c.SetCookie}, nil
}

// GetEvents implements engine.Exchange.
func (p *InProcess) GetEvents(ctx context.Context, t engine.Target, id, watermark string) (engine.EventBatch, error) {
	c := p.caller("GetEvents", engine.Target{SMTP: t.SMTP})
	var n ews.Notification
	err := p.admit(ctx, c, func() error {
		var err error
		n, err = p.backend.GetEvents(ctx, c, id, watermark)
		return err
	})
	if err != nil {
		return engine.EventBatch{}, err
	}
	return eventBatch(n), nil
}

func eventBatch(n ews.Notification) engine.EventBatch {
	b := engine.EventBatch{MoreEvents: n.MoreEvents, Events: events(n.Events)}
	b.Watermark = n.LastWatermark()
	return b
}

func events(evs []ews.Event) []engine.Event {
	out := make([]engine.Event, 0, len(evs))
	for _, e := range evs {
		ev := engine.Event{Kind: engine.EventKind(strings.TrimSuffix(string(e.Type), "Event")), Watermark: e.Watermark, TimeStamp: e.TimeStamp}
		if e.ItemId != nil {
			ev.ItemID, ev.ChangeKey = e.ItemId.Id, e.ItemId.ChangeKey
		}
		if e.OldItemId != nil {
			ev.OldItemID = e.OldItemId.Id
		}
		out = append(out, ev)
	}
	return out
}

// OpenStream implements engine.Exchange.
func (p *InProcess) OpenStream(ctx context.Context, t engine.Target, ids []string, timeout time.Duration) (engine.Stream, error) {
	c := p.caller("GetStreamingEvents", t)
	var s ewsserver.Stream
	err := p.admit(ctx, c, func() error {
		var err error
		s, err = p.backend.OpenStream(ctx, c, ids, timeout)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &inProcessStream{s: s}, nil
}

type inProcessStream struct {
	s    ewsserver.Stream
	once sync.Once
}

// Next returns the backend stream's next message in engine terms.
func (s *inProcessStream) Next(ctx context.Context) (engine.StreamMessage, error) {
	m, err := s.s.Next(ctx)
	if err != nil {
		return engine.StreamMessage{}, classify("GetStreamingEvents", err)
	}
	return streamMessage(m), nil
}

func streamMessage(m ewsserver.StreamMessage) engine.StreamMessage {
	out := engine.StreamMessage{Status: string(m.Status)}
	for _, n := range m.Notifications {
		out.Notifications = append(out.Notifications, engine.Notification{SubscriptionID: n.SubscriptionId, Events: events(n.Events)})
	}
	if m.Err != nil {
		out.Failures = append(out.Failures, engine.StreamFailure{Err: classify("GetStreamingEvents", m.Err), SubscriptionIDs: m.ErrorIDs})
	}
	return out
}

// Close detaches the subscriptions; safe to call more than once.
func (s *inProcessStream) Close() error {
	s.once.Do(s.s.Close)
	return nil
}

// Unsubscribe implements engine.Exchange.
func (p *InProcess) Unsubscribe(ctx context.Context, t engine.Target, id string) error {
	c := p.caller("Unsubscribe", t)
	return p.admit(ctx, c, func() error { return p.backend.Unsubscribe(ctx, c, id) })
}

var _ engine.Exchange = (*InProcess)(nil)
