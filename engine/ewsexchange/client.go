package ewsexchange

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/internal/clock"
)

// Client implements engine.Exchange over a real EWS endpoint with
// ews/ewsclient. Safe for concurrent use.
type Client struct {
	c               *ewsclient.Client
	autodiscoverURL string
	identities      *Identities
	clock           clock.Clock // nil: the wall clock
}

// NewClient returns an engine.Exchange that talks EWS through c.
// autodiscoverURL is the SOAP Autodiscover endpoint
// (https://host/autodiscover/autodiscover.svc); when empty, Discover
// answers with c's endpoint and one affinity group ("default").
func NewClient(c *ewsclient.Client, autodiscoverURL string) *Client {
	return &Client{c: c, autodiscoverURL: autodiscoverURL}
}

// ImpersonateWith makes the client impersonate mailboxes as ids says
// (UPN or SID) instead of by SMTP address. Call it before the engine runs.
func (x *Client) ImpersonateWith(ids *Identities) { x.identities = ids }

// UseClock gives the client the engine's clock: the requests that carry a
// time of their own (the working hours' window and the year their rules
// are matched for) take it from there. Call it before the engine runs.
func (x *Client) UseClock(c clock.Clock) { x.clock = c }

func (x *Client) now() time.Time {
	if x.clock == nil {
		return time.Now()
	}
	return x.clock.Now()
}

func (x *Client) call(t engine.Target) ewsclient.Call {
	call := ewsclient.Call{ActAs: x.identities.For(t.SMTP)}
	call.Anchor = t.Anchor
	call.Endpoint = t.EWSURL
	if t.Affinity {
		call.Affinity = ewsclient.NewAffinity(t.Cookie)
	}
	return call
}

// Discover implements engine.Exchange with SOAP Autodiscover GetUserSettings.
func (x *Client) Discover(ctx context.Context, smtps []string) ([]engine.DiscoverResult, error) {
	out := make([]engine.DiscoverResult, len(smtps))
	if x.autodiscoverURL == "" {
		for i, s := range smtps {
			out[i] = engine.DiscoverResult{SMTP: s, EWSURL: x.c.Endpoint(), GroupingInformation: "default"}
		}
		return out, nil
	}
	res, err := x.c.GetUserSettings(ctx, ewsclient.AutodiscoverRequest{URL: x.autodiscoverURL, Mailboxes: smtps,
		Settings: []string{ewsclient.SettingExternalEwsURL, ewsclient.SettingInternalEwsURL, ewsclient.SettingGroupingInformation}})
	if err != nil {
		return nil, classify("GetUserSettings", err)
	}
	for i, s := range smtps {
		out[i].SMTP = s
		if i >= len(res) {
			out[i].Err = &engine.ExchangeError{Code: "ErrorInvalidResponse", Err: errors.New("ewsexchange: autodiscover answered fewer users than asked")}
			continue
		}
		r := res[i]
		if r.Err != nil {
			code := "NetworkError"
			var ae *ewsclient.AutodiscoverError
			if errors.As(r.Err, &ae) {
				code = autodiscoverCode(ae.Code)
			}
			out[i].Err = &engine.ExchangeError{Code: code, Err: r.Err}
			continue
		}
		out[i].EWSURL = r.EWSURL()
		out[i].GroupingInformation = r.Settings[ewsclient.SettingGroupingInformation]
	}
	return out, nil
}

// autodiscoverCode maps Autodiscover error codes to the codes the engine
// knows.
func autodiscoverCode(code string) string {
	switch code {
	case "InvalidUser", "InvalidRequest":
		return "ErrorNonExistentMailbox"
	case "ServerBusy":
		return "ErrorServerBusy"
	}
	return "Autodiscover" + code
}

// CalendarView implements engine.Exchange.
func (x *Client) CalendarView(ctx context.Context, t engine.Target, start, end time.Time, maxEntries int) (engine.ViewPage, error) {
	// The items are converted as soon as they are decoded, in a buffer the
	// client reuses: only the occurrences are allocated.
	var out engine.ViewPage
	var convErr error
	err := x.c.CalendarViewFunc(ctx, x.call(engine.Target{SMTP: t.SMTP, EWSURL: t.EWSURL}), ewsclient.CalendarViewRequest{Start: start, End: end, MaxEntries: maxEntries},
		func(page *ewsclient.CalendarViewPage) error {
			out, convErr = viewPage(page.Items, !page.Truncated(), page.TotalItemsInView)
			return nil
		})
	if err != nil {
		return engine.ViewPage{}, classify("CalendarView", err)
	}
	return out, convErr
}

// OOF implements engine.Exchange with GetUserOofSettings.
func (x *Client) OOF(ctx context.Context, t engine.Target) (calendar.OOFSettings, error) {
	s, err := x.c.GetUserOofSettings(ctx, x.call(engine.Target{SMTP: t.SMTP, EWSURL: t.EWSURL}), t.SMTP)
	if err != nil {
		return calendar.OOFSettings{}, classify("GetUserOofSettings", err)
	}
	return OOF(s), nil
}

// Subscribe implements engine.Exchange. In streaming mode the call carries
// the group's anchor and affinity cookie; a cookie set by the server is
// returned for the group to replay.
func (x *Client) Subscribe(ctx context.Context, t engine.Target, req engine.SubscribeRequest) (engine.Subscription, error) {
	call := x.call(t)
	sr := ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming, EventTypes: subscribedEvents}
	if req.Mode == engine.Pull {
		sr.Kind = ews.SubscriptionPull
		sr.Watermark = req.Watermark
		sr.TimeoutMinutes = int(req.Timeout / time.Minute)
	}
	s, err := x.c.Subscribe(ctx, call, sr)
	if err != nil {
		return engine.Subscription{}, classify("Subscribe", err)
	}
	out := engine.Subscription{ID: s.Id, Watermark: s.Watermark}
	if call.Affinity != nil {
		if c := call.Affinity.Cookie(); c != t.Cookie {
			out.Cookie = c
		}
	}
	return out, nil
}

// GetEvents implements engine.Exchange.
func (x *Client) GetEvents(ctx context.Context, t engine.Target, id, watermark string) (engine.EventBatch, error) {
	n, err := x.c.GetEvents(ctx, x.call(engine.Target{SMTP: t.SMTP, EWSURL: t.EWSURL}), id, watermark)
	if err != nil {
		return engine.EventBatch{}, classify("GetEvents", err)
	}
	return eventBatch(n), nil
}

// OpenStream implements engine.Exchange with GetStreamingEvents.
func (x *Client) OpenStream(ctx context.Context, t engine.Target, ids []string, timeout time.Duration) (engine.Stream, error) {
	minutes := int(timeout / time.Minute)
	s, err := x.c.GetStreamingEvents(ctx, x.call(t), ewsclient.StreamRequest{SubscriptionIds: ids, ConnectionTimeoutMinutes: minutes})
	if err != nil {
		return nil, classify("GetStreamingEvents", err)
	}
	return &clientStream{s: s}, nil
}

type clientStream struct {
	s    *ewsclient.Stream
	once sync.Once
}

// Next reads the next envelope; cancelling ctx closes the connection.
func (s *clientStream) Next(ctx context.Context) (engine.StreamMessage, error) {
	stop := context.AfterFunc(ctx, func() { _ = s.s.Close() })
	defer stop()
	b, err := s.s.Next()
	return message(ctx, b, err)
}

// message turns what the client's stream returned into the engine's
// message. It is apart from Next so that the connection's goroutine waits
// for the server under Next's small frame, not this one's (engine's
// runConn says why the stack's depth at rest matters).
func message(ctx context.Context, b ewsclient.StreamBatch, err error) (engine.StreamMessage, error) {
	if err != nil {
		if ctx.Err() != nil {
			return engine.StreamMessage{}, ctx.Err()
		}
		if errors.Is(err, io.EOF) {
			return engine.StreamMessage{}, err
		}
		return engine.StreamMessage{}, classify("GetStreamingEvents", err)
	}
	out := engine.StreamMessage{Status: string(b.Status)}
	for _, n := range b.Notifications {
		out.Notifications = append(out.Notifications, engine.Notification{SubscriptionID: n.SubscriptionId, Events: events(n.Events)})
	}
	for _, f := range b.Failed {
		var err error = &engine.ExchangeError{Code: "ErrorSubscriptionNotFound"}
		if f.Err != nil {
			err = classify("GetStreamingEvents", f.Err)
		}
		out.Failures = append(out.Failures, engine.StreamFailure{Err: err, SubscriptionIDs: f.SubscriptionIds})
	}
	return out, nil
}

// Close ends the connection; safe to call more than once.
func (s *clientStream) Close() error {
	s.once.Do(func() { _ = s.s.Close() })
	return nil
}

// Unsubscribe implements engine.Exchange.
func (x *Client) Unsubscribe(ctx context.Context, t engine.Target, id string) error {
	return classify("Unsubscribe", x.c.Unsubscribe(ctx, x.call(engine.Target{SMTP: t.SMTP, EWSURL: t.EWSURL}), id))
}

var _ engine.Exchange = (*Client)(nil)
