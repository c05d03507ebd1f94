package ewsserver

import (
	"context"
	"time"

	"github.com/calsync/calsync/ews"
)

// Backend is the mailbox store behind a Handler: the operations every EWS
// calendar client needs. Methods receive the Caller (authenticated account,
// impersonation, affinity headers) and return per-item results in input
// order. Errors that are *ews.ResponseError become response messages,
// *ews.SOAPFault becomes an HTTP 500 fault, *ews.HTTPError a bare HTTP
// status; anything else is logged and answered with ErrorInternalServerError.
type Backend interface {
	// Admit is called once per request before the operation: it checks
	// impersonation rights and throttling budgets and returns a function
	// to call when the request ends.
	Admit(ctx context.Context, c *Caller) (release func(), err error)
	// FindItem runs a FindItem with a CalendarView or an IndexedPageItemView.
	FindItem(ctx context.Context, c *Caller, req FindItemRequest) (FindItemResult, error)
	// GetItem returns the addressed items.
	GetItem(ctx context.Context, c *Caller, refs []ews.ItemRef) []ItemResult
	// CreateItem stores new calendar items in folder.
	CreateItem(ctx context.Context, c *Caller, folder ews.FolderRef, items []ews.CalendarItem) []ItemResult
	// UpdateItem applies changes; conflict is the ConflictResolution attribute.
	UpdateItem(ctx context.Context, c *Caller, changes []ItemChange, conflict string) []ItemResult
	// DeleteItem deletes items or occurrences.
	DeleteItem(ctx context.Context, c *Caller, refs []ews.ItemRef) []error
	// SyncFolderItems returns one page of changes since a sync state.
	SyncFolderItems(ctx context.Context, c *Caller, req SyncRequest) (SyncResult, error)
}

// BackendAvailability adds GetUserAvailability and the OOF operations.
type BackendAvailability interface {
	// GetUserAvailability returns one result per mailbox, in order.
	GetUserAvailability(ctx context.Context, c *Caller, req AvailabilityRequest) ([]AvailabilityResult, error)
	// GetUserOofSettings returns a mailbox's automatic-reply settings.
	GetUserOofSettings(ctx context.Context, c *Caller, mailbox string) (ews.OofSettings, error)
	// SetUserOofSettings changes them.
	SetUserOofSettings(ctx context.Context, c *Caller, mailbox string, s ews.OofSettings) error
}

// BackendNotifications adds pull, push and streaming subscriptions.
type BackendNotifications interface {
	// Subscribe creates a subscription.
	Subscribe(ctx context.Context, c *Caller, req SubscribeRequest) (SubscribeResult, error)
	// GetEvents reads a pull subscription.
	GetEvents(ctx context.Context, c *Caller, subscriptionID, watermark string) (ews.Notification, error)
	// Unsubscribe ends a pull or streaming subscription.
	Unsubscribe(ctx context.Context, c *Caller, subscriptionID string) error
	// OpenStream attaches streaming subscriptions to a new hanging
	// connection that lives for timeout.
	OpenStream(ctx context.Context, c *Caller, ids []string, timeout time.Duration) (Stream, error)
}

// BackendAutodiscover adds SOAP Autodiscover GetUserSettings.
type BackendAutodiscover interface {
	// GetUserSettings returns the requested settings for each user.
	GetUserSettings(ctx context.Context, c *Caller, baseURL string, users []string, settings []string) ([]UserSettings, error)
}

// Stream is one GetStreamingEvents connection. Next blocks until the next
// envelope is due; the handler writes and flushes each message and stops
// after a message with Status Closed or an error.
type Stream interface {
	Next(ctx context.Context) (StreamMessage, error)
	// Close detaches the subscriptions and releases the connection budget.
	Close()
}

// ErrStreamDropped makes the handler cut the connection without a final
// envelope (fault injection).
var ErrStreamDropped = &ews.NetworkError{Op: "GetStreamingEvents", Err: errDropped{}}

type errDropped struct{}

// Error implements error.
func (errDropped) Error() string { return "connection dropped by fault injection" }

// StreamMessage is one GetStreamingEvents envelope: notifications, an error
// for some subscription ids, or a connection status.
type StreamMessage struct {
	Notifications []ews.Notification
	// Err with ErrorIDs reports failed subscriptions (ErrorSubscriptionIds).
	Err      *ews.ResponseError
	ErrorIDs []string
	// Status is OK (heartbeat) or Closed (last envelope); "" with
	// notifications or errors.
	Status ews.ConnectionStatus
}

// FindItemRequest is a FindItem on one folder.
type FindItemRequest struct {
	Folder ews.FolderRef
	// Shape is IdOnly, Default or AllProperties.
	Shape string
	// CalendarView, when set, expands recurrences in a window.
	CalendarView *CalendarViewRequest
	// Offset and MaxEntries page an IndexedPageItemView (MaxEntries 0 = all).
	Offset     int
	MaxEntries int
	FromEnd    bool
	// HasRestriction, HasSortOrder and SeekToCondition flag request parts
	// a calendar FindItem rejects: a Restriction or SortOrder with a
	// CalendarView, a SeekToConditionPageItemView.
	HasRestriction  bool
	HasSortOrder    bool
	SeekToCondition bool
}

// CalendarViewRequest is m:CalendarView.
type CalendarViewRequest struct {
	Start, End time.Time
	// MaxEntriesReturned, when MaxGiven.
	MaxEntries int
	MaxGiven   bool
}

// FindItemResult is the RootFolder of a FindItem response.
type FindItemResult struct {
	Items               []ews.CalendarItem
	TotalItemsInView    int
	IncludesLastInRange bool
	// IndexedPagingOffset is set for IndexedPageItemView.
	IndexedPagingOffset int
	Indexed             bool
}

// SyncRequest is a SyncFolderItems request.
type SyncRequest struct {
	Folder     ews.FolderRef
	SyncState  string
	MaxChanges int
	Shape      string
}

// SyncChangeKind is Create, Update or Delete.
type SyncChangeKind string

// SyncChangeKind values.
const (
	SyncCreate SyncChangeKind = "Create"
	SyncUpdate SyncChangeKind = "Update"
	SyncDelete SyncChangeKind = "Delete"
)

// SyncChange is one entry of Changes.
type SyncChange struct {
	Kind SyncChangeKind
	// Item for Create and Update.
	Item *ews.CalendarItem
	// ItemId for Delete.
	ItemId ews.ItemId
}

// SyncResult is one SyncFolderItems page.
type SyncResult struct {
	SyncState           string
	IncludesLastInRange bool
	Changes             []SyncChange
}

// SubscribeRequest is m:Subscribe.
type SubscribeRequest struct {
	Kind       ews.SubscriptionKind
	Folders    []ews.FolderRef
	AllFolders bool
	EventTypes []ews.EventType
	Watermark  string
	// Timeout (pull) in minutes.
	Timeout int
	// StatusFrequency (push) in minutes, URL the listener.
	StatusFrequency int
	URL             string
}

// SubscribeResult is the SubscribeResponseMessage payload.
type SubscribeResult struct {
	SubscriptionId string
	Watermark      string
}

// AvailabilityRequest is m:GetUserAvailabilityRequest reduced to what the
// backend needs; times are UTC, the handler converts results to the
// requested time zone.
type AvailabilityRequest struct {
	Mailboxes        []string
	Start, End       time.Time
	IntervalMinutes  int
	View             ews.FreeBusyViewType
	RequestedVersion ews.ExchangeVersion
}

// AvailabilityResult is one FreeBusyResponse; Err is a per-user error.
type AvailabilityResult struct {
	View ews.FreeBusyView
	Err  *ews.ResponseError
}

// UserSettings is one UserResponse of GetUserSettings.
type UserSettings struct {
	Mailbox   string
	ErrorCode string // NoError, InvalidUser, …
	Message   string
	Settings  map[string]string
}

// BackendFolders adds GetFolder (clients such as exchangelib look up the
// root and calendar folders before anything else).
type BackendFolders interface {
	// GetFolder returns one result per reference, in order.
	GetFolder(ctx context.Context, c *Caller, refs []ews.FolderRef) []FolderResult
}

// FolderResult is a per-folder outcome of GetFolder.
type FolderResult struct {
	Folder *ews.Folder
	Err    error
}
