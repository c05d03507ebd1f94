package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/hybridexchange"
)

// hybridOptions configure the router of a hybrid instance (exchange and
// exchange_online together): where each mailbox lives is kept in the
// store, so a restart does not look again — except in a cluster, where
// instances would overwrite each other's document — and the directory's
// recipient type decides where it has one. Cloud mailboxes are polled at
// delta_interval (or every 2 s in webhook mode, where a poll without a
// notification makes no request).
func (a *App) hybridOptions(cfg *config.Config) *hybridexchange.Options {
	o := &hybridexchange.Options{Clock: a.clock, Logger: a.log.With("component", "hybrid"), Hint: a.hints.side}
	if a.cluster == nil {
		o.Store = a.store
	}
	if x := cfg.ExchangeOnline; x != nil {
		o.PollInterval = x.Notifications.DeltaInterval
		if x.Notifications.Mode == "webhook" {
			o.PollInterval = 2 * time.Second
		}
	}
	return o
}

// loadHybrid resumes the kept decisions of a hybrid router; an unreadable
// document only costs the lookups again.
func (a *App) loadHybrid(ctx context.Context, x engine.Exchange) error {
	r, ok := x.(*hybridexchange.Router)
	if !ok {
		return nil
	}
	a.hybrid = r
	if err := r.Load(ctx); err != nil {
		a.log.Warn("where mailboxes live is looked up again", "err", err)
	}
	return nil
}

// hostedOn names the side serving smtp in a hybrid instance, "" otherwise
// or while undecided.
func (a *App) hostedOn(smtp string) string {
	if a.hybrid == nil {
		return ""
	}
	return string(a.hybrid.HostedOn(smtp))
}

// sideHints is the directory's word on where each mailbox lives
// (msExchRecipientTypeDetails), filled at every read of the users source.
type sideHints struct {
	mu sync.Mutex
	m  map[string]hybridexchange.Side
}

func (h *sideHints) set(users []directory.User) {
	m := make(map[string]hybridexchange.Side, len(users))
	for _, u := range users {
		if cloud, known := u.CloudMailbox(); known {
			m[strings.ToLower(strings.TrimSpace(u.SMTP))] = map[bool]hybridexchange.Side{true: hybridexchange.Cloud, false: hybridexchange.OnPremises}[cloud]
		}
	}
	h.mu.Lock()
	h.m = m
	h.mu.Unlock()
}

func (h *sideHints) side(smtp string) hybridexchange.Side {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[strings.ToLower(smtp)]
}
