package app

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/pgstore"
)

// sharedReads lets any instance of a cluster answer reads for every
// mailbox: the owned ones from its own scheduler and engine (live), the
// others from what their owners stored — the last published presence and
// the last saved sync status — read from PostgreSQL every refresh period
// into memory (the API's sources must answer from memory).
type sharedReads struct {
	a     *App
	every time.Duration

	mu       sync.RWMutex
	presence map[string]presence.Presence
	statuses map[string]store.MailboxStatus
	loaded   bool // read at least once
}

func newSharedReads(a *App) *sharedReads {
	return &sharedReads{a: a, every: a.cfg.Cluster.LeaseTTL / 3}
}

// run refreshes the copy until ctx ends.
func (r *sharedReads) run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := r.refresh(ctx); err != nil && ctx.Err() == nil {
			r.a.log.Warn("reading other instances' presence and status failed; answering with the previous copy", "err", err)
		}
		t.Reset(r.every)
	}
}

func (r *sharedReads) refresh(ctx context.Context) error {
	pg := r.a.store.(*pgstore.Store)
	docs, err := pg.LoadPresence(ctx)
	if err != nil {
		return err
	}
	statuses, err := pg.Statuses(ctx)
	if err != nil {
		return err
	}
	ps := make(map[string]presence.Presence, len(docs))
	for user, doc := range docs {
		var p presence.Presence // the stored document's fields are a Presence's
		if json.Unmarshal(doc, &p) == nil {
			ps[user] = p
		}
	}
	ss := make(map[string]store.MailboxStatus, len(statuses))
	for _, st := range statuses {
		ss[st.SMTP] = st
	}
	r.mu.Lock()
	r.presence, r.statuses, r.loaded = ps, ss, true
	r.mu.Unlock()
	return nil
}

func (r *sharedReads) ready() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.loaded
}

func (r *sharedReads) owned(user string) bool { return r.a.cluster.owned.has(user) }

// Current implements api.PresenceSource.
func (r *sharedReads) Current(user string) (presence.Presence, bool) {
	if r.owned(user) {
		return r.a.scheduler.Current(user)
	}
	if !r.a.known.has(user) {
		return presence.Presence{}, false
	}
	r.mu.RLock()
	p, ok := r.presence[user]
	r.mu.RUnlock()
	if !ok {
		return presence.Presence{User: user, Availability: presence.Unknown,
			Why: presence.Reason{Source: "no_data", Detail: "not published yet by the instance that syncs it"}}, true
	}
	return p, true
}

// All implements api.PresenceSource: every user of the cluster.
func (r *sharedReads) All() []presence.Presence {
	out := r.a.scheduler.All()
	users, _ := r.a.known.list(context.Background())
	for _, u := range users {
		if !r.owned(u) {
			p, _ := r.Current(u)
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}

// Status implements api.SyncSource.
func (r *sharedReads) Status(user string) (store.MailboxStatus, error) {
	if r.owned(user) || !r.a.known.has(user) {
		return r.a.engine.Status(user)
	}
	r.mu.RLock()
	st, ok := r.statuses[user]
	r.mu.RUnlock()
	if !ok {
		return store.MailboxStatus{SMTP: user, State: engine.StateDiscovering}, nil // no owner saved one yet
	}
	return st, nil
}

// Statuses implements api.SyncSource: every mailbox of the cluster.
func (r *sharedReads) Statuses() []store.MailboxStatus {
	out := r.a.engine.Statuses()
	users, _ := r.a.known.list(context.Background())
	for _, u := range users {
		if !r.owned(u) {
			st, _ := r.Status(u)
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SMTP < out[j].SMTP })
	return out
}
