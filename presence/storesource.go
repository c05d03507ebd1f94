package presence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// MailboxReader is the part of store.Store a StoreSource reads.
type MailboxReader interface {
	Mailbox(ctx context.Context, smtp string) (store.MailboxRecord, error)
	Mailboxes(ctx context.Context) ([]store.MailboxRecord, error)
	Occurrences(ctx context.Context, smtp string, start, end time.Time) ([]calendar.Occurrence, error)
}

// StoreSource is a Source over the store the engine writes: occurrences,
// automatic-reply settings and the persisted sync status (for trust and
// the mailbox time zone).
type StoreSource struct {
	Store MailboxReader
	// ListUsers lists the users to plan; nil lists every stored mailbox.
	ListUsers func(ctx context.Context) ([]string, error)
	// Trusted decides whether a mailbox's data may be used; nil uses
	// DefaultTrusted.
	Trusted func(rec store.MailboxRecord) bool
	// UserSettings returns a user's time zone (IANA or Windows id, empty:
	// the mailbox's own, else the rule set's) and language (empty: the rule
	// set's). Optional.
	UserSettings func(user string) (zone, language string)
	// DefaultZone (IANA or Windows id) is used for mailboxes whose own zone
	// is not known; empty leaves them to the rule set's time_zone.
	DefaultZone string
}

// DefaultTrusted trusts a mailbox whose window was loaded at least once and
// whose sync is neither denied, stopped, nor failing repeatedly (five or
// more consecutive failures).
func DefaultTrusted(rec store.MailboxRecord) bool {
	switch rec.Status.State {
	case "denied", "stopped":
		return false
	}
	return !rec.Checkpoint.LoadedAt.IsZero() && rec.Status.ConsecutiveFailures < 5
}

// firstLoadRunning reports whether a mailbox was never loaded and its sync
// has neither failed nor been stopped: its first load is still running.
func firstLoadRunning(rec store.MailboxRecord) bool {
	switch rec.Status.State {
	case "denied", "stopped", "backoff":
		return false
	}
	return rec.Checkpoint.LoadedAt.IsZero() && rec.Status.ConsecutiveFailures == 0 && rec.Status.LastError == nil
}

// Users implements Source.
func (s *StoreSource) Users(ctx context.Context) ([]string, error) {
	if s.ListUsers != nil {
		return s.ListUsers(ctx)
	}
	recs, err := s.Store.Mailboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("presence: list mailboxes: %w", err)
	}
	users := make([]string, 0, len(recs))
	for _, r := range recs {
		users = append(users, r.Status.SMTP)
	}
	return users, nil
}

// Load implements Source. A mailbox with no record yet is a known user
// without trustworthy data (presence unknown), not an error.
func (s *StoreSource) Load(ctx context.Context, user string, from, to time.Time) (Input, error) {
	in := Input{User: user, Window: calendar.Window{Start: from, End: to}}
	rec, err := s.Store.Mailbox(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		in.Pending = true
		return in, nil
	}
	if err != nil {
		return Input{}, fmt.Errorf("presence: read mailbox %q: %w", user, err)
	}
	trusted := s.Trusted
	if trusted == nil {
		trusted = DefaultTrusted
	}
	zone := rec.Status.TimeZone
	if zone == "" {
		zone = s.DefaultZone
	}
	if s.UserSettings != nil {
		z, lang := s.UserSettings(user)
		if z != "" {
			zone = z
		}
		in.Language = lang
	}
	if zone != "" {
		if loc, err := calendar.LoadZone(zone); err == nil {
			in.Location = loc
		}
	}
	if rec.OOF != nil {
		in.OOF = *rec.OOF
	}
	in.Trusted = trusted(rec)
	if !in.Trusted {
		in.Pending = firstLoadRunning(rec)
		return in, nil
	}
	occ, err := s.Store.Occurrences(ctx, user, from, to)
	if err != nil {
		return Input{}, fmt.Errorf("presence: read occurrences of %q: %w", user, err)
	}
	in.Occurrences = occ
	return in, nil
}
