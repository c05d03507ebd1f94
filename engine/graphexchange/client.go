package graphexchange

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/internal/clock"
)

// Options configure a Client; nil means defaults.
type Options struct {
	// DaysBefore and DaysAfter span the delta chain's window from today
	// (default 1 and 14, the engine's default window), plus a day on each
	// side for mailboxes in zones off UTC. Graph freezes the
	// window in the token; the chain is restarted when the days have moved
	// (see GetEvents).
	DaysBefore, DaysAfter int
	// Clock gives "today" (default: real time).
	Clock clock.Clock
	// Webhook, if set, subscribes every mailbox to change notifications
	// (see WebhookOptions); nil polls delta every pull interval.
	Webhook *WebhookOptions
}

// Client implements engine.Exchange over Microsoft Graph. Safe for
// concurrent use.
type Client struct {
	c      *graphclient.Client
	before int
	after  int
	clock  clock.Clock
	hooks  *hooks // nil: delta polling only
}

var (
	_ engine.Exchange     = (*Client)(nil)
	_ engine.ZoneReader   = (*Client)(nil)
	_ engine.OOFTipReader = (*Client)(nil)
)

// New returns an engine.Exchange calling Graph through c.
func New(c *graphclient.Client, opts *Options) *Client {
	if opts == nil {
		opts = &Options{}
	}
	x := &Client{c: c, before: opts.DaysBefore, after: opts.DaysAfter, clock: opts.Clock}
	if x.before <= 0 && x.after <= 0 {
		x.before, x.after = 1, 14
	}
	if x.clock == nil {
		x.clock = clock.Real{}
	}
	if opts.Webhook != nil {
		x.hooks = newHooks(*opts.Webhook)
	}
	return x
}

// Grouping is the GroupingInformation of every Graph mailbox.
const Grouping = "graph"

// ServiceGroup returns the group a status view shows a Graph mailbox
// under: the engine's group key of a Graph mailbox is the mailbox's own
// ("graph|<Graph URL>/users/<mailbox>", see Discover; in a hybrid
// organisation "exchange_online:graph|…"), which would list every cloud
// mailbox as a group of one. ServiceGroup cuts the mailbox off
// ("graph|<Graph URL>"); other keys come back unchanged.
func ServiceGroup(key string) string {
	grouping, u, ok := strings.Cut(key, "|")
	if !ok || (grouping != Grouping && !strings.HasSuffix(grouping, ":"+Grouping)) {
		return key
	}
	if i := strings.LastIndex(u, usersPath); i > 0 {
		return grouping + "|" + u[:i]
	}
	return key
}

const usersPath = "/users/"

// Discover implements engine.Exchange. Graph has no routing to discover:
// every mailbox answers at the Graph URL. EWSURL carries the mailbox's own
// Graph URL (shown in status, and the engine's per-"server" pauses then
// stay per mailbox, as Graph's limits are); GroupingInformation is "graph".
// Whether the mailbox is in Exchange Online shows on the first read
// (MailboxNotEnabledForRESTAPI).
func (x *Client) Discover(_ context.Context, smtps []string) ([]engine.DiscoverResult, error) {
	out := make([]engine.DiscoverResult, len(smtps))
	for i, s := range smtps {
		out[i] = engine.DiscoverResult{SMTP: s, EWSURL: x.c.GraphURL() + usersPath + url.PathEscape(s), GroupingInformation: Grouping}
	}
	return out, nil
}

// CalendarView implements engine.Exchange with calendarView, all pages.
// Graph pages instead of truncating, so the answer is always complete;
// maxEntries only sizes the pages.
func (x *Client) CalendarView(ctx context.Context, t engine.Target, start, end time.Time, maxEntries int) (engine.ViewPage, error) {
	events, err := x.c.CalendarView(ctx, t.SMTP, start, end, graphclient.ViewOptions{PageSize: maxEntries})
	if err != nil {
		return engine.ViewPage{}, classify("calendarView", err)
	}
	page := engine.ViewPage{IncludesLastItemInRange: true, TotalItemsInView: len(events)}
	for _, e := range events {
		o, err := Occurrence(e)
		if err != nil {
			return engine.ViewPage{}, &engine.ExchangeError{Code: CodeInvalidResponse, Err: fmt.Errorf("graphexchange: calendarView of %s: %w", t.SMTP, err)}
		}
		page.Occurrences = append(page.Occurrences, o)
	}
	return page, nil
}

// OOF implements engine.Exchange with mailboxSettings.
func (x *Client) OOF(ctx context.Context, t engine.Target) (calendar.OOFSettings, error) {
	m, err := x.c.MailboxSettings(ctx, t.SMTP)
	if err != nil {
		return calendar.OOFSettings{}, classify("mailboxSettings", err)
	}
	s, err := OOFSettings(m.AutomaticReplies)
	if err != nil {
		return calendar.OOFSettings{}, &engine.ExchangeError{Code: CodeInvalidResponse, Err: err}
	}
	return s, nil
}

// MailboxTimeZone implements engine.ZoneReader with mailboxSettings'
// timeZone (a Windows id or an IANA name).
func (x *Client) MailboxTimeZone(ctx context.Context, t engine.Target) (string, error) {
	m, err := x.c.MailboxSettings(ctx, t.SMTP)
	if err != nil {
		return "", classify("mailboxSettings", err)
	}
	if m.TimeZone == "" {
		return "", nil
	}
	loc, err := calendar.LoadZone(m.TimeZone)
	if err != nil {
		return "", &engine.ExchangeError{Code: CodeInvalidResponse, Err: fmt.Errorf("graphexchange: mailbox time zone of %s: %w", t.SMTP, err)}
	}
	return loc.String(), nil
}

// ErrNoStreaming is what OpenStream returns: Graph has no streaming
// notifications; run the engine in pull mode.
var ErrNoStreaming = errors.New("graphexchange: Microsoft Graph has no streaming notifications; use pull mode (delta polling)")

// OpenStream implements engine.Exchange; see ErrNoStreaming.
func (x *Client) OpenStream(context.Context, engine.Target, []string, time.Duration) (engine.Stream, error) {
	return nil, &engine.ExchangeError{Code: "ErrorInvalidSubscription", Err: ErrNoStreaming}
}

// Unsubscribe implements engine.Exchange: a delta chain holds nothing on
// the server; a webhook subscription is deleted.
func (x *Client) Unsubscribe(ctx context.Context, t engine.Target, subscriptionID string) error {
	if x.hooks == nil || strings.HasPrefix(subscriptionID, "delta:") {
		return nil
	}
	x.hooks.forget(subscriptionID)
	return classify("deleteSubscription", x.c.DeleteSubscription(ctx, t.SMTP, subscriptionID))
}
