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
//
// Error semantics shared by every implementation (checked by storetest):
//   - Mailbox and Occurrences return ErrNotFound for a mailbox that has no
//     record; DeleteMailbox of an unknown mailbox returns ErrNotFound.
//   - CommitWindow, SaveCheckpoint, SaveStatus and SaveOOF create the record
//     of an unknown mailbox.
//   - MarkDelivered and MarkFailed return ErrNotFound for an id that is not
//     a live (pending) message; DeadLetter and RequeueDeadLetter return
//     ErrNotFound for an id that is not a dead letter.
//   - Occurrences with an empty or inverted range (end <= start) returns
//     no occurrences.
//   - Instants come back in UTC; empty Categories and Payload come back nil.
//   - Every method returns an error wrapping ErrClosed after Close, and the
//     context's error when ctx is done.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// Status, when not nil, is stored in the same transaction as SaveStatus
	// would store it: a read that also changes the mailbox's persisted
	// status (the first load making it live) costs one write, not two. Its
	// SMTP must be the commit's mailbox. Nil keeps the stored status.
	Status *MailboxStatus
	// OOF, when not nil, is stored in the same transaction as SaveOOF
	// would store it: a read that also read changed automatic-reply
	// settings (a first load while the mail tips are not polled, a
	// reconciliation) costs one write, not two, and a crash cannot keep
	// the window without the settings read with it. Nil keeps the stored
	// settings.
	OOF *calendar.OOFSettings
}

// Store is calsync's persistence. Every method takes a context first and
// returns ErrClosed after Close.
type Store interface {
	// CommitWindow atomically replaces a mailbox's occurrences and
	// checkpoint, and its status when the commit carries one.
	CommitWindow(ctx context.Context, smtp string, c WindowCommit) error
	// SaveCheckpoint updates only the checkpoint (e.g. a new watermark after
	// processing events that changed nothing).
	SaveCheckpoint(ctx context.Context, smtp string, cp Checkpoint) error
	// SaveStatus stores the sync status of a mailbox.
	SaveStatus(ctx context.Context, st MailboxStatus) error
	// SaveStatuses stores the statuses of many mailboxes, each as
	// SaveStatus would, in one transaction per batch of the store's size
	// (a stopping engine stores every mailbox's "stopped" status with one
	// call instead of one write each). An empty SMTP address fails the
	// call before anything is stored; an empty slice is a no-op. A failure
	// or crash may leave earlier batches stored and later ones not: every
	// status is its own mailbox's, so that is a state saving them one by
	// one could have left too. A fenced store (pgstore.Fenced) stores the
	// statuses of the mailboxes it holds the lease on and reports the
	// others in an error wrapping ErrConflict.
	SaveStatuses(ctx context.Context, sts []MailboxStatus) error
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
	// owner holds an unexpired lease. A single instance with one owner name
	// is therefore always granted; embedded stores keep the same semantics
	// so that the conformance suite covers them.
	AcquireLease(ctx context.Context, smtp, owner string, now time.Time, ttl time.Duration) error
	// ReleaseLease gives a lease up. Releasing a lease that is not held is a
	// no-op; releasing another owner's unexpired lease returns ErrConflict.
	ReleaseLease(ctx context.Context, smtp, owner string) error

	PresenceStore
	Outbox
	DocumentStore

	// Close releases the store. Further calls return ErrClosed.
	Close() error
}

// PresenceStore keeps the last presence published per user, so that a
// restart re-emits only real changes.
type PresenceStore interface {
	// SavePresence stores the last published presence document (opaque JSON).
	SavePresence(ctx context.Context, smtp string, doc []byte) error
	// SavePresences stores the documents of several users (SMTP address to
	// document) in one transaction: all of them or, on error, none. It
	// replaces documents stored before; an empty map is a no-op. An empty
	// address fails the whole batch.
	SavePresences(ctx context.Context, docs map[string][]byte) error
	// LoadPresence returns all stored presence documents by SMTP address.
	LoadPresence(ctx context.Context) (map[string][]byte, error)
}

// DocumentStore keeps a few small named documents that must survive a
// restart (the last good user list of the directory).
type DocumentStore interface {
	// SaveDocument stores doc under name, replacing an earlier one. An
	// empty name is an error.
	SaveDocument(ctx context.Context, name string, doc []byte) error
	// LoadDocument returns the document saved under name, or ErrNotFound.
	LoadDocument(ctx context.Context, name string) ([]byte, error)
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
	// DeadAt is when the message was dead-lettered (the failed attempt's
	// Failure.At); zero while it is live.
	DeadAt time.Time
	// Requeues counts how often an administrator sent the message back
	// from the dead letters (RequeueDeadLetter, RequeueDeadLetters).
	Requeues int
	// RequeuedAt is the last such re-queue, zero if none. The dispatcher
	// measures the message's age bound from it rather than from CreatedAt.
	RequeuedAt time.Time
}

// Failure is the outcome of one failed delivery attempt, for MarkFailed.
type Failure struct {
	// Error says what went wrong (never secrets); it becomes LastError.
	Error string
	// At is when the attempt failed; a dead letter keeps it as DeadAt.
	At time.Time
	// Next is when to try again; it becomes NextAttempt.
	Next time.Time
	// Dead moves the message to the dead letters, which unblocks the next
	// message of its key.
	Dead bool
}

// DeadLetterQuery selects dead letters for Outbox.DeadLetters.
type DeadLetterQuery struct {
	// Endpoint keeps only the dead letters of one endpoint; empty means all.
	Endpoint string
	// After keeps only messages with Seq > After. Paging: pass the Seq of
	// the last message of the previous page.
	After uint64
	// Limit bounds the number of messages returned; <= 0 means no bound.
	Limit int
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
	// MarkFailed records a failed attempt: Attempts+1, LastError and
	// NextAttempt from f; f.Dead moves it to the dead letters with DeadAt
	// = f.At.
	MarkFailed(ctx context.Context, id string, f Failure) error
	// DeadLetters lists the dead messages q selects, oldest (lowest Seq)
	// first.
	DeadLetters(ctx context.Context, q DeadLetterQuery) ([]OutboxMessage, error)
	// DeadLetter returns one dead message by id, or ErrNotFound when no
	// dead message has that id (unknown, live, delivered or re-queued).
	DeadLetter(ctx context.Context, id string) (OutboxMessage, error)
	// RequeueDeadLetter moves one dead message back to the live outbox
	// (see Requeued for its fields afterwards) and returns it as stored
	// now, or ErrNotFound when no dead message has that id. The message
	// keeps its ID and its Seq: it takes its original place in its key's
	// queue, before any later message of that key still pending.
	RequeueDeadLetter(ctx context.Context, id string, now time.Time) (OutboxMessage, error)
	// RequeueDeadLetters does the same for every dead message of one
	// endpoint in one transaction and returns how many it moved (0 when
	// there were none).
	RequeueDeadLetters(ctx context.Context, endpoint string, now time.Time) (int, error)
	// OutboxStats counts pending and dead messages per endpoint.
	OutboxStats(ctx context.Context) (map[string]OutboxCount, error)
}

// OutboxCount is the size of one endpoint's outbox.
type OutboxCount struct {
	Pending int
	Dead    int
}

// NewMessageID returns a fresh random idempotency id for an outbox message
// (32 hex digits). Implementations use it when Enqueue gets an empty ID.
func NewMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Requeued returns dead message m as it is stored when it goes back to the
// live outbox at now: not dead, no DeadAt, Attempts 0 (a fresh retry
// budget), NextAttempt and RequeuedAt now, Requeues+1. ID, Seq, Key,
// EventType, Payload, CreatedAt and LastError stay, so that the receiver
// gets the same body under the same idempotency id. Every implementation
// uses it so that they agree on what a re-queue means.
func Requeued(m OutboxMessage, now time.Time) OutboxMessage {
	now = now.UTC()
	m.Dead, m.DeadAt = false, time.Time{}
	m.Attempts = 0
	m.NextAttempt, m.RequeuedAt = now, now
	m.Requeues++
	return m
}

// PrepareCommit checks a window commit and returns the occurrences to store:
// those overlapping the commit's window, in UTC, sorted by start then item
// id, with empty Categories as nil. Every implementation calls it so that
// they agree on what a commit means. It rejects a commit without a window,
// an invalid occurrence and a duplicate item id.
func PrepareCommit(smtp string, c WindowCommit) ([]calendar.Occurrence, error) {
	return PrepareCommitTo(nil, smtp, c)
}

// PrepareCommitTo is PrepareCommit appending to dst[:0]: a store that only
// encodes the occurrences before it returns can reuse one slice for every
// commit (boltstore: 9.5 KB less garbage per 30-occurrence commit at a
// load). The caller must clear the slice before keeping it, or it keeps
// the strings alive.
func PrepareCommitTo(dst []calendar.Occurrence, smtp string, c WindowCommit) ([]calendar.Occurrence, error) {
	if smtp == "" || strings.ContainsRune(smtp, 0) {
		return nil, fmt.Errorf("store: commit for mailbox address %q: empty or contains NUL", smtp)
	}
	if c.Status != nil && c.Status.SMTP != smtp {
		return nil, fmt.Errorf("store: commit for %s carries the status of mailbox %q: a window commit stores only its own mailbox's status", smtp, c.Status.SMTP)
	}
	w := c.Checkpoint.Window
	if w.Start.IsZero() || w.End.IsZero() || !w.End.After(w.Start) {
		return nil, fmt.Errorf("store: commit for %s: window [%s, %s) is empty or unset", smtp, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	// Duplicates are found among the sorted ids: one slice instead of a
	// map per commit (every mailbox's load commits once).
	ids := make([]string, len(c.Occurrences))
	out := slices.Grow(dst[:0], len(c.Occurrences))
	for i, o := range c.Occurrences {
		if err := o.Validate(); err != nil {
			return nil, fmt.Errorf("store: commit for %s: %w", smtp, err)
		}
		ids[i] = o.ItemID
		if !o.Overlaps(w.Start, w.End) {
			continue
		}
		out = append(out, NormalizeOccurrence(o))
	}
	slices.Sort(ids)
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			return nil, fmt.Errorf("store: commit for %s: item id %q appears twice", smtp, ids[i])
		}
	}
	SortOccurrences(out)
	return out, nil
}

// NormalizeOccurrence returns a deep copy of o with instants in UTC and
// empty Categories as nil: the form every store returns.
func NormalizeOccurrence(o calendar.Occurrence) calendar.Occurrence {
	o.Start = o.Start.UTC()
	o.End = o.End.UTC()
	if len(o.Categories) == 0 {
		o.Categories = nil
	} else {
		o.Categories = append([]string(nil), o.Categories...)
	}
	return o
}

// NormalizeStatus returns a copy of st with its instants in UTC and its
// own copy of LastError: the form every store keeps and returns.
func NormalizeStatus(st MailboxStatus) MailboxStatus {
	st.LastEvent, st.LastVerified = st.LastEvent.UTC(), st.LastVerified.UTC()
	if st.LastError != nil {
		e := *st.LastError
		e.At = e.At.UTC()
		st.LastError = &e
	}
	return st
}

// SortOccurrences sorts by start, then item id.
func SortOccurrences(occs []calendar.Occurrence) {
	// A CalendarView answer comes sorted by start: checking through
	// pointers is one pass, where the sort compares copies of the large
	// structs (a tenth of a first commit's CPU in
	// boltstore's BenchmarkFirstLoad, whose sample windows are unsorted).
	sorted := true
	for i := 1; i < len(occs) && sorted; i++ {
		sorted = compareOccurrences(&occs[i-1], &occs[i]) <= 0
	}
	if sorted {
		return
	}
	slices.SortFunc(occs, func(a, b calendar.Occurrence) int { return compareOccurrences(&a, &b) })
}

func compareOccurrences(a, b *calendar.Occurrence) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	return strings.Compare(a.ItemID, b.ItemID)
}

// ValidateOutboxMessages checks messages before Enqueue: each needs an
// endpoint, a key and an event type, and ids given by the caller must be
// unique within the batch.
func ValidateOutboxMessages(msgs []OutboxMessage) error {
	ids := make(map[string]bool, len(msgs))
	for i, m := range msgs {
		if m.Endpoint == "" || m.Key == "" || m.EventType == "" {
			return fmt.Errorf("store: outbox message %d needs an endpoint, a key and an event type", i)
		}
		if m.ID != "" {
			if ids[m.ID] {
				return fmt.Errorf("store: outbox message id %q appears twice in one batch: %w", m.ID, ErrConflict)
			}
			ids[m.ID] = true
		}
	}
	return nil
}
