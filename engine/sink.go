package engine

import "github.com/calsync/calsync/store"

// Sink receives what the engine observes, as it happens: the engine pushes,
// nobody polls. It is the engine's only outward path; reads (Status,
// Statuses, Groups) stay for requests that want the current picture.
//
// Calls come from the mailbox's worker goroutine, in the order the changes
// happened for that mailbox (different mailboxes interleave). They must
// return quickly and must not call back into the engine's mutating methods
// (SetMailboxes, Add, Remove, SyncNow): hand the change to a queue.
type Sink interface {
	// CalendarChanged reports a commit that changed the mailbox's
	// occurrences or automatic-reply (OOF) settings. The store already
	// holds the new data.
	CalendarChanged(smtp string)
	// StatusChanged reports a change of the mailbox's state or of its
	// last error's code (including the error clearing). st is a copy.
	// Changes of the counters alone (last event, last verified,
	// occurrences) are not reported; Status has them.
	StatusChanged(st store.MailboxStatus)
}

// SinkFuncs adapts two functions to Sink; a nil function ignores its kind
// of change.
type SinkFuncs struct {
	Calendar func(smtp string)
	Status   func(st store.MailboxStatus)
}

// CalendarChanged implements Sink.
func (f SinkFuncs) CalendarChanged(smtp string) {
	if f.Calendar != nil {
		f.Calendar(smtp)
	}
}

// StatusChanged implements Sink.
func (f SinkFuncs) StatusChanged(st store.MailboxStatus) {
	if f.Status != nil {
		f.Status(st)
	}
}

// noSink is the default Sink: it drops every report.
type noSink struct{}

func (noSink) CalendarChanged(string)            {}
func (noSink) StatusChanged(store.MailboxStatus) {}

// statusKey is what makes a status change worth reporting.
type statusKey struct{ state, code string }

func keyOf(st store.MailboxStatus) statusKey {
	k := statusKey{state: st.State}
	if st.LastError != nil {
		k.code = st.LastError.Code
	}
	return k
}
