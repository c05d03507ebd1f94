package directory

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// DefaultRefreshInterval is the Watcher's default period.
const DefaultRefreshInterval = 15 * time.Minute

// WatcherOptions configure a Watcher.
type WatcherOptions struct {
	// Interval between refreshes (default DefaultRefreshInterval).
	Interval time.Duration
	// Clock drives the refresh timer (default the wall clock).
	Clock clock.Clock
	// Logger receives refresh results and errors (default discard).
	Logger *slog.Logger
	// OnChange is called after a refresh that changed the users, with the
	// users added and removed (the first refresh reports every user as
	// added). Calls are serialized and happen on the refreshing goroutine.
	OnChange func(added, removed []User)
}

// Watcher re-reads a Source periodically and reports differences. When a
// refresh fails it keeps the last good list: a directory outage is never
// mistaken for removals.
type Watcher struct {
	opts WatcherOptions
	log  *slog.Logger

	// refreshMu serializes refreshes (and OnChange calls).
	refreshMu sync.Mutex
	mu        sync.Mutex
	src       Source
	users     []User
	loaded    bool
	lastErr   error
}

// NewWatcher returns a watcher of src; call Run to start it.
func NewWatcher(src Source, opts WatcherOptions) *Watcher {
	if opts.Interval <= 0 {
		opts.Interval = DefaultRefreshInterval
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{src: src, opts: opts, log: log}
}

// Refresh reads the source now (e.g. on SIGHUP) and reports changes. It
// returns the source's error; the previous list is then kept.
func (w *Watcher) Refresh(ctx context.Context) error {
	w.refreshMu.Lock()
	defer w.refreshMu.Unlock()
	start := w.opts.Clock.Now()
	w.mu.Lock()
	src := w.src
	w.mu.Unlock()
	next, err := src.Users(ctx)
	w.mu.Lock()
	w.lastErr = err
	prev, wasLoaded := w.users, w.loaded
	if err == nil {
		w.users, w.loaded = next, true
	}
	w.mu.Unlock()
	if err != nil {
		w.log.Warn("directory refresh failed; keeping the previous users", "error", err, "users", len(prev))
		return fmt.Errorf("directory: refresh: %w", err)
	}
	added, removed := Diff(prev, next)
	w.log.Info("directory refreshed", "users", len(next), "added", len(added), "removed", len(removed), "took", w.opts.Clock.Now().Sub(start))
	if (len(added) > 0 || len(removed) > 0 || !wasLoaded) && w.opts.OnChange != nil {
		w.opts.OnChange(added, removed)
	}
	return nil
}

// Run refreshes immediately and then every Interval until ctx ends. It
// returns ctx's error. Refresh errors are logged, not returned.
func (w *Watcher) Run(ctx context.Context) error {
	_ = w.Refresh(ctx)
	t := w.opts.Clock.NewTimer(w.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
			_ = w.Refresh(ctx)
			t.Reset(w.opts.Interval)
		}
	}
}

// SetSource replaces the source (after a configuration reload); the next
// Refresh reports the difference between the old and the new users.
func (w *Watcher) SetSource(src Source) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.src = src
}

// Users returns the last good list (nil before the first success).
func (w *Watcher) Users() []User {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]User(nil), w.users...)
}

// LastError returns the error of the last refresh, nil if it succeeded.
func (w *Watcher) LastError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}
