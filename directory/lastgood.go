package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// DocumentStore keeps the last good list; store.Store satisfies it.
type DocumentStore interface {
	SaveDocument(ctx context.Context, name string, doc []byte) error
	LoadDocument(ctx context.Context, name string) ([]byte, error)
}

// lastGoodDocument names the stored list.
const lastGoodDocument = "directory.last_good"

// ErrNoLastGood is wrapped when the users source fails and no earlier list
// was ever kept: a first start without a directory cannot start.
var ErrNoLastGood = errors.New("directory: no user list was ever read successfully")

// StaleError is returned, with the stored users, when the source failed
// but a list read successfully earlier (possibly by an earlier run) is
// kept: the caller can sync those users and retry the source.
type StaleError struct {
	// Err is the source's failure.
	Err error
	// SavedAt is when the kept list was read; Users how many it holds.
	SavedAt time.Time
	Users   int
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%v; using the last good list of %d users read at %s", e.Err, e.Users, e.SavedAt.UTC().Format(time.RFC3339))
}

// Unwrap returns the source's failure.
func (e *StaleError) Unwrap() error { return e.Err }

// lastGoodDoc is the stored form of the list.
type lastGoodDoc struct {
	SavedAt time.Time    `json:"saved_at"`
	Users   []storedUser `json:"users"`
}

type storedUser struct {
	SMTP        string `json:"smtp"`
	DisplayName string `json:"display_name,omitempty"`
	UPN         string `json:"upn,omitempty"`
	SID         string `json:"sid,omitempty"`
	// RecipientTypeDetails: msExchRecipientTypeDetails (hybrid hint).
	RecipientTypeDetails int64 `json:"recipient_type_details,omitempty"`
	// SIPAddress: the SIP connector's presentity from the source.
	SIPAddress string `json:"sip_address,omitempty"`
}

// LastGood is a Source that keeps the last list its source returned in a
// store, so that an instance restarts while LDAP is down or the CSV file
// is missing or has a bad row: on failure it returns the kept list with a
// *StaleError; only when no list was ever kept does it fail outright
// (wrapping ErrNoLastGood).
type LastGood struct {
	src   Source
	store DocumentStore
	clock clock.Clock
	log   *slog.Logger
	// saved is the list last written, so that an unchanged list costs no
	// write; nil until the first successful read of this process.
	saved []User
}

// NewLastGood wraps src. clk and log may be nil.
func NewLastGood(src Source, st DocumentStore, clk clock.Clock, log *slog.Logger) *LastGood {
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LastGood{src: src, store: st, clock: clk, log: log}
}

// Users reads the source. A successful read is kept (a failure to keep it
// is logged, not returned); a failed one returns the kept list with a
// *StaleError, or an error wrapping ErrNoLastGood.
func (l *LastGood) Users(ctx context.Context) ([]User, error) {
	users, err := l.src.Users(ctx)
	if err == nil {
		l.keep(ctx, users)
		return users, nil
	}
	kept, at, kerr := KeptUsers(ctx, l.store)
	if kerr != nil {
		return nil, fmt.Errorf("%w: %w (%w)", ErrNoLastGood, err, kerr)
	}
	return kept, &StaleError{Err: err, SavedAt: at, Users: len(kept)}
}

// KeptUsers returns the last good list kept in st and when it was read
// (for `calsync check`, which reports what a start would use).
func KeptUsers(ctx context.Context, st DocumentStore) ([]User, time.Time, error) {
	doc, err := load(ctx, st)
	if err != nil {
		return nil, time.Time{}, err
	}
	kept := make([]User, len(doc.Users))
	for i, u := range doc.Users {
		kept[i] = User(u)
	}
	return kept, doc.SavedAt, nil
}

func (l *LastGood) keep(ctx context.Context, users []User) {
	if l.saved != nil && slices.Equal(l.saved, users) {
		return
	}
	doc := lastGoodDoc{SavedAt: l.clock.Now().UTC(), Users: make([]storedUser, len(users))}
	for i, u := range users {
		doc.Users[i] = storedUser(u)
	}
	b, err := json.Marshal(doc)
	if err == nil {
		err = l.store.SaveDocument(ctx, lastGoodDocument, b)
	}
	if err != nil {
		l.log.Warn("keeping the user list for restarts without the directory failed", "users", len(users), "err", err)
		return
	}
	l.saved = slices.Clone(users)
	if l.saved == nil {
		l.saved = []User{}
	}
}

func load(ctx context.Context, st DocumentStore) (lastGoodDoc, error) {
	b, err := st.LoadDocument(ctx, lastGoodDocument)
	if errors.Is(err, store.ErrNotFound) {
		return lastGoodDoc{}, errors.New("none is kept in the store")
	}
	if err != nil {
		return lastGoodDoc{}, fmt.Errorf("reading the kept user list: %w", err)
	}
	var doc lastGoodDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return lastGoodDoc{}, fmt.Errorf("the kept user list is unreadable: %w", err)
	}
	return doc, nil
}
