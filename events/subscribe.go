package events

import "errors"

// ErrClosed is returned by Subscribe after Close.
var ErrClosed = errors.New("events: the event log is closed")

// From says where a subscription starts.
type From struct {
	// Resume asks for the events after After; without it the subscription
	// starts with the next event.
	Resume bool
	After  uint64
	// Users limits the subscription to events about these users (lower
	// case); events without a key always pass. Nil means every event.
	Users map[string]bool
}

// Subscription is one subscriber's view of the log: first Replay, then
// Events, until Done is closed.
type Subscription struct {
	// Replay holds the buffered events after From.After, in order.
	Replay []Event
	// Reset is true when the events after From.After are no longer
	// buffered, or From.After is from another process: the subscriber
	// must reload its state. Current is the id to reload from.
	Reset   bool
	Current uint64

	users  map[string]bool
	events chan Event
	done   chan struct{}
	log    *Log
}

// Events delivers the events published after the subscription.
func (s *Subscription) Events() <-chan Event { return s.events }

// Done is closed when the log drops the subscriber (its queue was full)
// or closes; what is still queued in Events may be read.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Close ends the subscription.
func (s *Subscription) Close() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.dropLocked(s)
}

func (s *Subscription) wants(ev Event) bool {
	return s.users == nil || ev.Key == "" || s.users[ev.Key]
}

// Subscribe registers a subscriber. The replay snapshot and the
// registration happen under one lock, so nothing is missed or doubled
// between Replay and Events.
func (l *Log) Subscribe(from From) (*Subscription, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	s := &Subscription{Current: l.lastID, users: from.Users, events: make(chan Event, l.opts.ClientBuffer), done: make(chan struct{}), log: l}
	if from.Resume && from.After != l.lastID {
		oldest := l.lastID + 1
		if l.count > 0 {
			oldest = l.ring[l.head].ID
		}
		if from.After > l.lastID || from.After+1 < oldest {
			s.Reset = true
			l.metrics.resets.Inc()
		} else {
			for i := range l.count {
				ev := l.ring[(l.head+i)%len(l.ring)]
				if ev.ID > from.After && s.wants(ev) {
					s.Replay = append(s.Replay, ev)
				}
			}
		}
	}
	l.subs[s] = struct{}{}
	l.metrics.subscribers.Inc()
	return s, nil
}
