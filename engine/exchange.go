package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/calendar"
)

// Exchange is the narrow set of EWS operations the engine needs. The engine
// owns this interface; engine/ewsexchange implements it with ews/ewsclient,
// and tests may implement it with fakes.
//
// Every method must be safe for concurrent use. Errors should be (or wrap)
// *ExchangeError so that the engine can pick the recovery action; any other
// error is treated as a network failure.
type Exchange interface {
	// Discover runs Autodiscover for up to 90 mailboxes in one request and
	// returns one result per input address, in input order.
	Discover(ctx context.Context, smtps []string) ([]DiscoverResult, error)
	// CalendarView reads the expanded occurrences of the mailbox's calendar
	// overlapping [start, end), returning at most maxEntries of them.
	CalendarView(ctx context.Context, t Target, start, end time.Time, maxEntries int) (ViewPage, error)
	// OOF reads the mailbox's automatic-replies settings.
	OOF(ctx context.Context, t Target) (calendar.OOFSettings, error)
	// Subscribe creates a streaming or pull subscription to the calendar
	// folder of t.SMTP, routed with t.Anchor and t.Cookie.
	Subscribe(ctx context.Context, t Target, req SubscribeRequest) (Subscription, error)
	// GetEvents polls a pull subscription once.
	GetEvents(ctx context.Context, t Target, subscriptionID, watermark string) (EventBatch, error)
	// OpenStream opens a GetStreamingEvents connection for up to 200
	// subscription ids of one affinity group.
	OpenStream(ctx context.Context, t Target, subscriptionIDs []string, timeout time.Duration) (Stream, error)
	// Unsubscribe ends a subscription.
	Unsubscribe(ctx context.Context, t Target, subscriptionID string) error
}

// Target says which mailbox a call is for and how to route it.
type Target struct {
	// SMTP is the impersonated mailbox.
	SMTP string
	// EWSURL is the mailbox's EWS endpoint from Autodiscover ("" = default).
	EWSURL string
	// Anchor is the X-AnchorMailbox to send; "" means SMTP. Subscription
	// calls of a streaming group use the group's anchor.
	Anchor string
	// Cookie is the group's affinity cookie to replay (with
	// X-PreferServerAffinity: true); "" if none yet.
	Cookie string
	// Affinity requests X-PreferServerAffinity: true.
	Affinity bool
}

// DiscoverResult is the Autodiscover answer for one mailbox.
type DiscoverResult struct {
	SMTP                string
	EWSURL              string
	GroupingInformation string
	// TimeZone is the mailbox's IANA time zone if known, else "".
	TimeZone string
	// Err is the per-user error, nil on success.
	Err error
}

// ViewPage is one CalendarView answer.
type ViewPage struct {
	Occurrences []calendar.Occurrence
	// IncludesLastItemInRange is false when Exchange truncated the view.
	IncludesLastItemInRange bool
	TotalItemsInView        int
	// Release, when set, gives Occurrences back to the implementation,
	// which may reuse their memory: the engine calls it once, when its
	// read is done with them (committed — a store copies what it keeps —
	// and fingerprinted). The strings in them are never reused.
	Release func()
}

// Mode is the notification mode.
type Mode string

// Notification modes.
const (
	Streaming Mode = "streaming"
	Pull      Mode = "pull"
)

// SubscribeRequest are the parameters of a Subscribe call.
type SubscribeRequest struct {
	Mode Mode
	// Watermark resumes a pull subscription ("" = from now).
	Watermark string
	// Timeout is the pull subscription's idle timeout (1–1440 minutes).
	Timeout time.Duration
}

// Subscription is what Subscribe returns.
type Subscription struct {
	ID        string
	Watermark string
	// Cookie is the affinity cookie the server set, "" if none.
	Cookie string
}

// EventKind names an EWS notification event.
type EventKind string

// Event kinds the engine distinguishes.
const (
	EventStatus          EventKind = "Status"
	EventCreated         EventKind = "Created"
	EventModified        EventKind = "Modified"
	EventDeleted         EventKind = "Deleted"
	EventMoved           EventKind = "Moved"
	EventCopied          EventKind = "Copied"
	EventNewMail         EventKind = "NewMail"
	EventFreeBusyChanged EventKind = "FreeBusyChanged"
)

// Event is one notification event. The engine treats every non-status
// event as a hint to re-read the window; ids and change keys only let it
// skip a read whose change the stored window already shows (replays after
// a restart, takeover or recovery: worker_replay.go), never stand in for
// the item's data.
type Event struct {
	Kind      EventKind
	ItemID    string
	ChangeKey string // the item's change key after the change ("" if absent)
	OldItemID string // a Moved or Copied item's id before ("" otherwise)
	Watermark string
	TimeStamp time.Time
}

// EventBatch is one GetEvents answer.
type EventBatch struct {
	Events     []Event
	Watermark  string
	MoreEvents bool
}

// Notification is the events of one subscription in a streaming message.
type Notification struct {
	SubscriptionID string
	Events         []Event
}

// StreamFailure reports subscriptions a streaming connection dropped.
type StreamFailure struct {
	Err             error
	SubscriptionIDs []string
}

// StreamMessage is one envelope read from a GetStreamingEvents connection.
type StreamMessage struct {
	Notifications []Notification
	Failures      []StreamFailure
	// Status is the ConnectionStatus ("OK", "Closed") or "".
	Status string
}

// Stream is an open GetStreamingEvents connection.
type Stream interface {
	// Next returns the next message; io.EOF when the server ended the body.
	// It returns when ctx is cancelled.
	Next(ctx context.Context) (StreamMessage, error)
	// Close releases the connection.
	Close() error
}

// ExchangeError is an error classified by the Exchange implementation: the
// client classifies, the engine decides (style anchor 12).
type ExchangeError struct {
	// Code is the EWS ResponseCode, or a calsync code ("HTTP401",
	// "HTTP503", "NetworkError").
	Code string
	// HTTPStatus is the HTTP status, 0 if none.
	HTTPStatus int
	// BackOff is the server's back-off hint (BackOffMilliseconds).
	BackOff time.Duration
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *ExchangeError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("engine: exchange %s: %v", e.Code, e.Err)
	}
	return "engine: exchange " + e.Code
}

// Unwrap returns the underlying error.
func (e *ExchangeError) Unwrap() error { return e.Err }

// ErrorCode returns the EWS or calsync code of err, "" for nil and
// "NetworkError" for errors that are not *ExchangeError.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var xe *ExchangeError
	if errors.As(err, &xe) {
		return xe.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Timeout"
	}
	return "NetworkError"
}

func backOffHint(err error) time.Duration {
	var xe *ExchangeError
	if errors.As(err, &xe) {
		return xe.BackOff
	}
	return 0
}
