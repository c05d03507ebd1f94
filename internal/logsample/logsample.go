// Package logsample keeps a flood of alike failures out of the log. One
// cause (Exchange unreachable, a wrong password, a webhook receiver down)
// fails hundreds of mailboxes or deliveries at once and again at every
// retry; a line for each would bury everything else. Per key (an error
// code, an endpoint and cause) and window, the first few failures are
// logged one by one, and the rest are counted and summed up in one line
// when the window ends.
package logsample

import (
	"context"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// Sampler decides which failures of a key are logged in full. It writes
// nothing itself: the caller logs what Sample lets through, and summary
// writes the count of the rest. Safe for concurrent use.
type Sampler[K comparable] struct {
	clock   clock.Clock
	burst   int
	window  time.Duration
	summary func(key K, suppressed int, note any)

	mu    sync.Mutex
	byKey map[K]*window
}

// window counts one key's failures since start.
type window struct {
	start      time.Time
	logged     int
	suppressed int
	note       any // the window's first note, for its summary
}

// New returns a Sampler that lets burst failures of a key through per
// period and calls summary with the number of the others (and the note of
// the period's first failure) once the period is over.
func New[K comparable](clk clock.Clock, burst int, period time.Duration, summary func(key K, suppressed int, note any)) *Sampler[K] {
	return &Sampler[K]{clock: clk, burst: burst, window: period, summary: summary, byKey: map[K]*window{}}
}

// Sample reports whether this failure of key is to be logged in full. When
// it is not, it is counted for the summary, which a timer bounded by ctx
// writes at the end of the window (or the key's next failure after it,
// whichever comes first).
func (s *Sampler[K]) Sample(ctx context.Context, key K, note any) bool {
	now := s.clock.Now()
	s.mu.Lock()
	w := s.byKey[key]
	var ended *window
	if w == nil || now.Sub(w.start) >= s.window {
		ended = w
		w = &window{start: now, note: note}
		s.byKey[key] = w
	}
	var log, first bool
	if w.logged < s.burst {
		w.logged++
		log = true
	} else {
		w.suppressed++
		first = w.suppressed == 1
	}
	s.mu.Unlock()
	s.summarize(key, ended)
	if first {
		s.flushAt(ctx, key, w)
	}
	return log
}

// flushAt writes w's summary at the end of its window, unless a later
// failure of the same key already did.
func (s *Sampler[K]) flushAt(ctx context.Context, key K, w *window) {
	t := s.clock.NewTimer(w.start.Add(s.window).Sub(s.clock.Now()))
	go func() {
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		s.mu.Lock()
		current := s.byKey[key] == w
		if current {
			delete(s.byKey, key)
		}
		s.mu.Unlock()
		if current {
			s.summarize(key, w)
		}
	}()
}

// summarize writes the summary of an ended window that held back failures.
// A window ends once: either its key's next failure replaced it or its
// timer removed it, never both, so each count is written once.
func (s *Sampler[K]) summarize(key K, w *window) {
	if w == nil {
		return
	}
	s.mu.Lock()
	n := w.suppressed
	w.suppressed = 0
	s.mu.Unlock()
	if n > 0 {
		s.summary(key, n, w.note)
	}
}
