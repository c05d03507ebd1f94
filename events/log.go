package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
)

// Options configures NewLog; zero values take the defaults.
type Options struct {
	// History is how many events the ring buffer keeps for resumption
	// (default 16384: a transition of every one of 10,000 users at the top
	// of the hour stays resumable).
	History int
	// ClientBuffer is each subscriber's queue length; a subscriber whose
	// queue is full is dropped and resumes from its last id (default 1024).
	ClientBuffer int
	// Sinks receive every published batch before subscribers do, in this
	// order (the webhook outbox).
	Sinks []Sink
	// Clock sets the first id (nil: the wall clock).
	Clock clock.Clock
	// Numbered makes the log a mirror of a stream numbered elsewhere (a
	// cluster's global event table): events arrive with their ids through
	// Append, the log starts before id 1, and Publish is refused.
	Numbered   bool
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Log numbers events, keeps the most recent ones in a ring buffer and fans
// them out to its sinks and subscribers. Ids increase by one per event; the
// first id is derived from the log's start time, so the ids of a restarted
// process are larger than the previous process's and a subscriber resuming
// across a restart is told to reload. Safe for concurrent use.
type Log struct {
	opts    Options
	metrics *metrics

	// publishMu makes one Publish at a time reach the sinks and the ring,
	// so the sinks see the events in the order subscribers do.
	publishMu sync.Mutex

	mu     sync.Mutex
	ring   []Event // circular, len == History
	head   int     // index of the oldest event
	count  int
	lastID uint64
	subs   map[*Subscription]struct{}
	closed bool
}

// NewLog returns a log. It returns an error only if metrics cannot be
// registered.
func NewLog(opts Options) (*Log, error) {
	if opts.History <= 0 {
		opts.History = 16384
	}
	if opts.ClientBuffer <= 0 {
		opts.ClientBuffer = 1024
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	l := &Log{opts: opts, metrics: m, ring: make([]Event, opts.History), subs: map[*Subscription]struct{}{}}
	if now := opts.Clock.Now().UnixMicro(); now > 0 && !opts.Numbered {
		l.lastID = uint64(now)
	}
	return l, nil
}

// Publish hands events to every sink, then numbers them consecutively,
// buffers them and queues them for every interested subscriber. A sink's
// error is returned, but the events still reach the subscribers: a
// producer that publishes again because its durable sink failed may show
// subscribers an event twice, never lose one for the sinks. An invalid
// event (see Event) rejects the batch before anything is published.
//
// After Close the events still go to the sinks: a change made durable
// during shutdown is not sent twice after the restart.
func (l *Log) Publish(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if l.opts.Numbered {
		return errors.New("events: Publish on a numbered log (its events arrive through Append)")
	}
	for i, ev := range events {
		if err := ev.check(); err != nil {
			return fmt.Errorf("event %d of %d: %w", i+1, len(events), err)
		}
	}
	l.publishMu.Lock()
	defer l.publishMu.Unlock()
	var errs []error
	for _, s := range l.opts.Sinks {
		if err := s.Publish(ctx, events); err != nil {
			errs = append(errs, err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range events {
		l.appendLocked(ev)
	}
	return errors.Join(errs...)
}

// Append buffers events numbered elsewhere and queues them for the
// subscribers of a Numbered log, without sinks (the stream they come from
// already went through them). Ids must increase; gaps are allowed (a
// rolled-back transaction consumes ids). An event at or below LastID is
// refused with the whole batch: the mirror never reorders.
func (l *Log) Append(events []Event) error {
	if !l.opts.Numbered {
		return errors.New("events: Append on a log that numbers its own events (use Publish)")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	last := l.lastID
	for _, ev := range events {
		if ev.ID <= last {
			return fmt.Errorf("events: appended event id %d does not follow %d", ev.ID, last)
		}
		if err := ev.check(); err != nil {
			return fmt.Errorf("event %d: %w", ev.ID, err)
		}
		last = ev.ID
	}
	for _, ev := range events {
		l.lastID = ev.ID - 1
		l.appendLocked(ev)
	}
	return nil
}

// appendLocked buffers one event under the next id and queues it for every
// interested subscriber; l.mu is held.
func (l *Log) appendLocked(ev Event) {
	l.lastID++
	ev.ID = l.lastID
	if l.count < len(l.ring) {
		l.ring[(l.head+l.count)%len(l.ring)] = ev
		l.count++
	} else {
		l.ring[l.head] = ev
		l.head = (l.head + 1) % len(l.ring)
	}
	for s := range l.subs {
		if !s.wants(ev) {
			continue
		}
		select {
		case s.events <- ev:
		default:
			l.dropLocked(s)
			l.metrics.dropped.Inc()
			l.opts.Logger.Info("events: dropped a subscriber that did not keep up; it resumes from its last id", "queue", cap(s.events))
		}
	}
	l.metrics.published.WithLabelValues(ev.Type).Inc()
}

// LastID returns the id of the last published event (or the id before the
// first event when none was published yet).
func (l *Log) LastID() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastID
}

// Subscribers returns the number of current subscribers.
func (l *Log) Subscribers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}

// Close ends every subscription and refuses new ones.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for s := range l.subs {
		l.dropLocked(s)
	}
}

func (l *Log) dropLocked(s *Subscription) {
	if _, ok := l.subs[s]; !ok {
		return
	}
	delete(l.subs, s)
	close(s.done)
	l.metrics.subscribers.Dec()
}
