package app

import (
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// engineSink is where the engine reports, the first hop of the event
// path: a calendar change re-plans the user's presence (whose changes the
// scheduler publishes on the event log); a status change re-plans it too,
// because trust depends on the sync state, and becomes a sync.health
// event. Both calls only queue work, as engine.Sink asks.
type engineSink struct {
	// presence is set by New right after the scheduler is built, before
	// the engine runs: the scheduler reads the engine's statuses, so the
	// engine exists first.
	presence *presence.Scheduler
	health   *healthEvents
	// users is the set being synced: a status report that arrives after
	// its mailbox was removed (a worker stopping) is no sync.health event.
	// (The scheduler itself ignores changes of users it removed.)
	users *userSet
	// statusChanged is signalled (without blocking) after each status
	// report, for the initial-sync progress log.
	statusChanged chan<- struct{}
}

var _ engine.Sink = (*engineSink)(nil)

// CalendarChanged implements engine.Sink.
func (s *engineSink) CalendarChanged(smtp string) {
	s.presence.CalendarChanged(smtp)
}

// StatusChanged implements engine.Sink.
func (s *engineSink) StatusChanged(st store.MailboxStatus) {
	s.presence.CalendarChanged(st.SMTP)
	if !s.users.has(st.SMTP) {
		return
	}
	s.health.add(st)
	select {
	case s.statusChanged <- struct{}{}:
	default:
	}
}
