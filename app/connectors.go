package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/connectors/sip"
	"github.com/calsync/calsync/directory"
)

// newSIPConnector builds the connector of connectors.sip: a sink of the
// event log, seeded at start with the stored presence of the users to
// sync, its publications kept in the store.
func (a *App) newSIPConnector(cfg *config.SIPConnector) (*sip.Connector, error) {
	opts, err := sip.FromConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	var c *sip.Connector
	observe, err := connectors.RegisterMetrics(a.registry, "sip", func() connectors.Status { return c.Status() })
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	opts.Documents, opts.Initial, opts.Observe = a.store, a.storedStates, observe
	opts.Clock, opts.Logger = a.clock, a.log.With("component", "sip")
	opts.Presentities = a.sipAddresses.lookup
	if a.cluster != nil {
		// Each instance publishes the users it owns (sipcluster.go).
		opts.Initial, opts.Owns = nil, a.sipOwns
	}
	c, err = sip.New(opts)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return c, nil
}

// storedStates is the presence the scheduler last published for each user
// to sync (its stored documents carry the presence's JSON fields).
func (a *App) storedStates(ctx context.Context) (map[string]connectors.State, error) {
	docs, err := a.store.LoadPresence(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]connectors.State, len(docs))
	for user, doc := range docs {
		if !a.known.has(user) {
			continue
		}
		if s, ok := storedState(doc); ok {
			out[user] = s
		}
	}
	return out, nil
}

// storedState reads a connector's state from a stored presence document;
// false when it has none (the scheduler publishes the user again).
func storedState(doc []byte) (connectors.State, bool) {
	var s connectors.State
	if err := json.Unmarshal(doc, &s); err != nil || s.Availability == "" {
		return connectors.State{}, false
	}
	return s, true
}

// connectorStatuses lists the configured connectors' status for the API.
func (a *App) connectorStatuses() []connectors.Status {
	if a.sip == nil {
		return nil
	}
	return []connectors.Status{a.sip.Status()}
}

// sipAddresses holds the SIP address the users source gives for each user
// (a CSV column, an LDAP attribute), filled at every read of the source.
type sipAddresses struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *sipAddresses) set(users []directory.User) {
	m := make(map[string]string)
	for _, u := range users {
		if u.SIPAddress != "" {
			m[strings.ToLower(strings.TrimSpace(u.SMTP))] = u.SIPAddress
		}
	}
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
}

// lookup is the connector's per-user presentity; ok is false for users
// the source has no SIP address for (the template applies).
func (s *sipAddresses) lookup(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uri, ok := s.m[strings.ToLower(user)]
	return uri, ok
}
