// Package store defines where calsync keeps what it knows: per mailbox the
// synced calendar window, the sync checkpoint (subscription, watermark, sync
// state), the sync status, the last published presence, and the webhook
// outbox.
//
// Store is written once and tested once: storetest.Run is the conformance
// suite every implementation must pass (memstore, the embedded bolt store,
// and later a PostgreSQL store shared by several instances).
//
// Each mailbox has a single writer (its engine worker). Implementations are
// safe for concurrent use by different mailboxes.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/calsync/calsync/calendar"
)

// Sentinel errors. Implementations wrap them with context; test with errors.Is.
var (
	// ErrNotFound: the mailbox, message or record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a compare-and-set or lease check failed.
	ErrConflict = errors.New("store: conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Checkpoint is how far a mailbox's sync has come. It is committed in the
// same transaction as the occurrences it covers.
type Checkpoint struct {
	// Window is the calendar range the stored occurrences cover.
	Window calendar.Window
	// SyncState is the opaque SyncFolderItems state, empty if none.
	SyncState string
	// SubscriptionID is the current notification subscription, empty if none.
	SubscriptionID string
	// Watermark is the last processed pull watermark, empty for streaming.
	Watermark string
	// NotificationMode is "streaming" or "pull".
	NotificationMode string
	// LoadedAt is when the window was last read in full from Exchange.
	LoadedAt time.Time
}

// SyncError is the last error a mailbox hit, with a hint for the administrator.
type SyncError struct {
	Code    string    `json:"code"`    // EWS ResponseCode or a calsync code such as "NetworkError"
	Message string    `json:"message"` // what happened (never contains secrets)
	Hint    string    `json:"hint"`    // what to do about it
	At      time.Time `json:"at"`
}

// MailboxStatus is the persisted sync status of one mailbox.
type MailboxStatus struct {
	SMTP string
	// State is the engine's state-machine state (e.g. "discovering",
	// "loading", "subscribed", "resyncing", "backoff", "denied").
	State string
	// Group is the affinity group key (GroupingInformation + EWS URL).
	Group string
	// Connection names the streaming connection or pull loop serving it.
	Connection          string
	EWSURL              string
	TimeZone            string // IANA zone of the mailbox, empty if unknown
	LastEvent           time.Time
	LastVerified        time.Time
	LastError           *SyncError
	Occurrences         int
	ConsecutiveFailures int
}

// MailboxRecord is everything stored for one mailbox.
type MailboxRecord struct {
	Status     MailboxStatus
	Checkpoint Checkpoint
	OOF        *calendar.OOFSettings
}

// WindowCommit replaces the stored occurrences of one mailbox inside
// Checkpoint.Window and saves the checkpoint, atomically. Occurrences outside
// the new window are dropped.
type WindowCommit struct {
	Occurrences []calendar.Occurrence
	Checkpoint  Checkpoint
}

// Store is calsync's persistence. Every method takes a context first and
// returns ErrClosed after Close.
type Store interface {
	// CommitWindow atomically replaces a mailbox's occurrences and checkpoint.
	CommitWindow(ctx context.Context, smtp string, c WindowCommit) error
	// SaveCheckpoint updates only the checkpoint (e.g. a new watermark after
	// processing events that changed nothing).
	SaveCheckpoint(ctx context.Context, smtp string, cp Checkpoint) error
	// SaveStatus stores the sync status of a mailbox.
	SaveStatus(ctx context.Context, st MailboxStatus) error
	// SaveOOF stores the automatic-replies settings of a mailbox.
	SaveOOF(ctx context.Context, smtp string, oof calendar.OOFSettings) error
	// Mailbox returns the record of one mailbox, or ErrNotFound.
	Mailbox(ctx context.Context, smtp string) (MailboxRecord, error)
	// Mailboxes lists the records of all mailboxes, sorted by SMTP address.
	Mailboxes(ctx context.Context) ([]MailboxRecord, error)
	// Occurrences returns the stored occurrences of a mailbox overlapping
	// [start, end), sorted by start then item id.
	Occurrences(ctx context.Context, smtp string, start, end time.Time) ([]calendar.Occurrence, error)
	// DeleteMailbox removes everything stored for a mailbox.
	DeleteMailbox(ctx context.Context, smtp string) error

	// AcquireLease claims a mailbox for owner until now+ttl, or renews the
	// claim if owner already holds it. It returns ErrConflict if another
	// owner holds an unexpired lease. Single-instance stores always grant.
	AcquireLease(ctx context.Context, smtp, owner string, now time.Time, ttl time.Duration) error
	// ReleaseLease gives a lease up.
	ReleaseLease(ctx context.Context, smtp, owner string) error

	PresenceStore
	Outbox

	// Close releases the store. Further calls return ErrClosed.
	Close() error
}

// PresenceStore keeps the last presence published per user, so that a
// restart re-emits only real changes.
type PresenceStore interface {
	// SavePresence stores the last published presence document (opaque JSON).
	SavePresence(ctx context.Context, smtp string, doc []byte) error
	// LoadPresence returns all stored presence documents by SMTP address.
	LoadPresence(ctx context.Context) (map[string][]byte, error)
}

// OutboxMessage is one webhook delivery waiting in the persistent outbox.
type OutboxMessage struct {
	// ID is the idempotency id, unique per message, assigned by Enqueue when empty.
	ID string
	// Seq orders messages; assigned by Enqueue, increasing.
	Seq      uint64
	Endpoint string // endpoint name from the config
	// Key orders deliveries: messages with the same (Endpoint, Key) are
	// delivered in Seq order (the user's SMTP address).
	Key         string
	EventType   string
	Payload     []byte
	Attempts    int
	NextAttempt time.Time
	LastError   string
	CreatedAt   time.Time
	// Dead is set once the message exceeded the retry bound.
	Dead bool
}

// Outbox is the persistent webhook outbox.
type Outbox interface {
	// Enqueue stores messages durably and returns them with ID and Seq set.
	Enqueue(ctx context.Context, msgs []OutboxMessage) ([]OutboxMessage, error)
	// Due returns up to limit live (not dead, not delivered) messages of an
	// endpoint whose NextAttempt <= now and that are the oldest pending for
	// their Key, in Seq order.
	Due(ctx context.Context, endpoint string, now time.Time, limit int) ([]OutboxMessage, error)
	// MarkDelivered removes a message from the outbox.
	MarkDelivered(ctx context.Context, id string) error
	// MarkFailed records a failed attempt: Attempts+1, LastError, NextAttempt;
	// dead=true moves it to the dead-letter list.
	MarkFailed(ctx context.Context, id string, errText string, next time.Time, dead bool) error
	// DeadLetters lists dead messages of all endpoints, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]OutboxMessage, error)
	// OutboxStats counts pending and dead messages per endpoint.
	OutboxStats(ctx context.Context) (map[string]OutboxCount, error)
}

// OutboxCount is the size of one endpoint's outbox.
type OutboxCount struct {
	Pending int
	Dead    int
}
