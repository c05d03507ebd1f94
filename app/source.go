package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// presenceSource gives the presence scheduler its input from the store
// (occurrences, automatic replies, time zone) and the engine (whether the
// data can be trusted). It is safe for concurrent use.
type presenceSource struct {
	store       store.Store
	engine      *engine.Engine
	language    string
	defaultZone *time.Location

	mu    sync.RWMutex
	users map[string]bool // lower-case SMTP
}

func (s *presenceSource) setUsers(users []string) {
	m := make(map[string]bool, len(users))
	for _, u := range users {
		m[strings.ToLower(u)] = true
	}
	s.mu.Lock()
	s.users = m
	s.mu.Unlock()
}

func (s *presenceSource) known(user string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.users[strings.ToLower(user)]
}

// Users lists the configured users.
func (s *presenceSource) Users(context.Context) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.users))
	for u := range s.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out, nil
}

// Load returns the user's occurrences and settings. Data is trusted only
// once the window was loaded in full and while the mailbox is not failing
// (denied, or in back-off after errors): presence never guesses.
func (s *presenceSource) Load(ctx context.Context, user string, from, to time.Time) (presence.Input, error) {
	if !s.known(user) {
		return presence.Input{}, fmt.Errorf("app: %s is not a configured user: %w", user, presence.ErrUnknownUser)
	}
	in := presence.Input{User: user, Language: s.language, Location: s.defaultZone}
	rec, err := s.store.Mailbox(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return in, nil // never synced: Trusted stays false → unknown
	}
	if err != nil {
		return in, fmt.Errorf("app: reading mailbox %s: %w", user, err)
	}
	occs, err := s.store.Occurrences(ctx, user, from, to)
	if err != nil {
		return in, fmt.Errorf("app: reading occurrences of %s: %w", user, err)
	}
	in.Occurrences = occs
	in.Window = rec.Checkpoint.Window
	if rec.OOF != nil {
		in.OOF = *rec.OOF
	}
	zone := rec.Status.TimeZone
	if st, err := s.engine.Status(user); err == nil {
		if st.TimeZone != "" {
			zone = st.TimeZone
		}
		in.Trusted = trusted(st, rec.Checkpoint)
	} else {
		in.Trusted = trusted(rec.Status, rec.Checkpoint)
	}
	if zone != "" {
		if loc, err := calendar.LoadZone(zone); err == nil {
			in.Location = loc
		}
	}
	return in, nil
}

// trusted decides whether synced data may drive presence.
func trusted(st store.MailboxStatus, cp store.Checkpoint) bool {
	if cp.LoadedAt.IsZero() {
		return false
	}
	switch st.State {
	case engine.StateDenied, engine.StateStopped:
		return false
	case engine.StateBackoff:
		// A short back-off (server busy) keeps the last good data; repeated
		// failures mean the data may be stale.
		return st.ConsecutiveFailures < 3
	}
	return true
}
