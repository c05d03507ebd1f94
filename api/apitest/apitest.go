// Package apitest provides in-memory sources for api.Options, controlled by
// tests: the api package's own tests, the dashboard's browser test and the
// app's tests use them. All types are safe for concurrent use.
package apitest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// Presence is an api.PresenceSource over a map.
type Presence struct {
	mu sync.Mutex
	m  map[string]presence.Presence
}

// NewPresence returns a source holding ps.
func NewPresence(ps ...presence.Presence) *Presence {
	f := &Presence{m: map[string]presence.Presence{}}
	for _, p := range ps {
		f.m[p.User] = p
	}
	return f
}

// Set stores p and returns the change a scheduler would emit.
func (f *Presence) Set(p presence.Presence, at time.Time) presence.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := presence.Change{User: p.User, Current: p, At: at}
	if prev, ok := f.m[p.User]; ok {
		c.Previous = &prev
	}
	f.m[p.User] = p
	return c
}

// Current implements api.PresenceSource.
func (f *Presence) Current(user string) (presence.Presence, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.m[user]
	return p, ok
}

// All implements api.PresenceSource.
func (f *Presence) All() []presence.Presence {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]presence.Presence, 0, len(f.m))
	for _, p := range f.m {
		out = append(out, p)
	}
	return out
}

// Sync is an api.SyncSource, api.SyncTrigger and api.StreamGroupSource
// over maps.
type Sync struct {
	mu        sync.Mutex
	m         map[string]store.MailboxStatus
	groups    []api.StreamGroup
	requested []string
	// SyncErr, when set, is returned by SyncNow.
	SyncErr error
}

// NewSync returns a source holding sts.
func NewSync(sts ...store.MailboxStatus) *Sync {
	f := &Sync{m: map[string]store.MailboxStatus{}}
	for _, st := range sts {
		f.m[st.SMTP] = st
	}
	return f
}

// Set stores a status.
func (f *Sync) Set(st store.MailboxStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[st.SMTP] = st
}

// SetStreamGroups stores what StreamGroups returns.
func (f *Sync) SetStreamGroups(gs ...api.StreamGroup) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = gs
}

// Statuses implements api.SyncSource.
func (f *Sync) Statuses() []store.MailboxStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]store.MailboxStatus, 0, len(f.m))
	for _, st := range f.m {
		out = append(out, st)
	}
	return out
}

// Status implements api.SyncSource.
func (f *Sync) Status(user string) (store.MailboxStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.m[user]
	if !ok {
		return store.MailboxStatus{}, fmt.Errorf("apitest: mailbox %s: %w", user, store.ErrNotFound)
	}
	return st, nil
}

// StreamGroups implements api.StreamGroupSource.
func (f *Sync) StreamGroups() []api.StreamGroup {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.groups)
}

// SyncNow implements api.SyncTrigger and records the request.
func (f *Sync) SyncNow(ctx context.Context, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[user]; !ok {
		return fmt.Errorf("apitest: mailbox %s: %w", user, api.ErrUnknownUser)
	}
	if f.SyncErr != nil {
		return f.SyncErr
	}
	f.requested = append(f.requested, user)
	return nil
}

// Requested returns the users SyncNow was called for.
func (f *Sync) Requested() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requested)
}

// Agenda is an api.AgendaSource over a map.
type Agenda struct {
	mu sync.Mutex
	m  map[string][]calendar.Occurrence
}

// NewAgenda returns an empty agenda source.
func NewAgenda() *Agenda { return &Agenda{m: map[string][]calendar.Occurrence{}} }

// Add stores occurrences of a mailbox.
func (f *Agenda) Add(user string, occs ...calendar.Occurrence) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[user] = append(f.m[user], occs...)
}

// Occurrences implements api.AgendaSource with the store's semantics.
func (f *Agenda) Occurrences(ctx context.Context, user string, start, end time.Time) ([]calendar.Occurrence, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []calendar.Occurrence
	for _, o := range f.m[user] {
		if o.Overlaps(start, end) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b calendar.Occurrence) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// Overrides is an api.OverrideSetter that writes into a Presence source and
// publishes the change on an event log, like the real scheduler would.
type Overrides struct {
	P *Presence
	// Events, when set, receives the presence.changed events.
	Events events.Sink
	// Now stamps the changes.
	Now func() time.Time

	mu    sync.Mutex
	saved map[string]presence.Presence
}

// SetOverride implements api.OverrideSetter.
func (f *Overrides) SetOverride(ctx context.Context, user string, o presence.Override) (presence.Presence, error) {
	cur, ok := f.P.Current(user)
	if !ok {
		return presence.Presence{}, fmt.Errorf("apitest: %s: %w", user, api.ErrUnknownUser)
	}
	f.mu.Lock()
	if f.saved == nil {
		f.saved = map[string]presence.Presence{}
	}
	if _, had := f.saved[user]; !had {
		f.saved[user] = cur
	}
	f.mu.Unlock()
	p := presence.Presence{User: user, Availability: o.Availability, Profile: o.Profile, StatusText: o.StatusText, ForwardTo: o.ForwardTo,
		Since: f.Now(), Until: o.Until, Why: presence.Reason{Source: "override", Detail: "manual override"}, ComputedAt: f.Now()}
	f.publish(ctx, f.P.Set(p, f.Now()))
	return p, nil
}

// ClearOverride implements api.OverrideSetter.
func (f *Overrides) ClearOverride(ctx context.Context, user string) (presence.Presence, error) {
	cur, ok := f.P.Current(user)
	if !ok {
		return presence.Presence{}, fmt.Errorf("apitest: %s: %w", user, api.ErrUnknownUser)
	}
	f.mu.Lock()
	prev, had := f.saved[user]
	delete(f.saved, user)
	f.mu.Unlock()
	if !had {
		return cur, nil
	}
	f.publish(ctx, f.P.Set(prev, f.Now()))
	return prev, nil
}

func (f *Overrides) publish(ctx context.Context, c presence.Change) {
	if f.Events != nil {
		_ = api.PresencePublisher{Events: f.Events}.Publish(ctx, c)
	}
}

// DryRun is an api.DryRunner that evaluates a fixed timeline (it ignores
// the rules) and records the rules it received.
type DryRun struct {
	Timeline []presence.Presence

	mu       sync.Mutex
	gotRules *presence.CompiledRules
}

// DryRun implements api.DryRunner.
func (f *DryRun) DryRun(ctx context.Context, user string, rules *presence.CompiledRules, start, end time.Time) ([]presence.Presence, error) {
	f.mu.Lock()
	f.gotRules = rules
	f.mu.Unlock()
	var out []presence.Presence
	for _, p := range f.Timeline {
		if p.Since.Before(end) && (p.Until.IsZero() || p.Until.After(start)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Rules returns the rules of the last call (nil for the current rules).
func (f *DryRun) Rules() *presence.CompiledRules {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gotRules
}

// WebhookEvent is one event a Webhooks sink received.
type WebhookEvent struct {
	Type    string
	Key     string
	Payload []byte
}

// Webhooks is an events.Sink that records what it receives, like the
// webhook outbox would.
type Webhooks struct {
	mu     sync.Mutex
	events []WebhookEvent
	// Err, when set, is returned by Publish (nothing is recorded).
	Err error
}

// Publish implements events.Sink.
func (f *Webhooks) Publish(ctx context.Context, evs []events.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	for _, ev := range evs {
		f.events = append(f.events, WebhookEvent{Type: ev.Type, Key: ev.Key, Payload: slices.Clone(ev.Data)})
	}
	return nil
}

// Events returns what was enqueued.
func (f *Webhooks) Events() []WebhookEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}
