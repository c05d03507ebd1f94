package app

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// userSet is the current set of users to sync, shared by the engine and
// the presence scheduler. Safe for concurrent use.
type userSet struct {
	mu    sync.RWMutex
	users map[string]bool // lower-case SMTP
}

// set replaces the set and returns the users that left it.
func (s *userSet) set(users []string) (removed []string) {
	m := make(map[string]bool, len(users))
	for _, u := range users {
		m[strings.ToLower(u)] = true
	}
	s.mu.Lock()
	for u := range s.users {
		if !m[u] {
			removed = append(removed, u)
		}
	}
	s.users = m
	s.mu.Unlock()
	sort.Strings(removed)
	return removed
}

// has reports whether smtp (lower case, as the engine reports it) is in
// the set.
func (s *userSet) has(smtp string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.users[smtp]
}

func (s *userSet) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.users)
}

func (s *userSet) list(context.Context) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.users))
	for u := range s.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out, nil
}

// presenceSource reads presence input from the store; trust comes from the
// engine's live status when it knows the mailbox (fresher than the
// persisted one). A mailbox whose own zone is not known is evaluated in
// defaultZone (window.default_time_zone when presence.time_zone is not set).
func presenceSource(st store.Store, e *engine.Engine, users *userSet, defaultZone string) *presence.StoreSource {
	return &presence.StoreSource{
		Store:       st,
		ListUsers:   users.list,
		DefaultZone: defaultZone,
		Trusted: func(rec store.MailboxRecord) bool {
			if live, err := e.Status(rec.Status.SMTP); err == nil {
				rec.Status = live
			}
			return presence.DefaultTrusted(rec)
		},
	}
}
