package engine

import (
	"slices"
	"strings"
	"sync"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// statusTable holds the live status of every synced mailbox, keeps the
// per-state gauge in step and reports changes of state or error code to
// the sink. The supervisor creates and drops entries; workers update their
// own. Its lock is a leaf: nothing else is taken while it is held, and the
// sink is called after it is released. Safe for concurrent use.
//
// Each entry also carries the automatic-reply settings the mailbox's
// worker last stored or found stored (oofpoll_digest.go), so that the
// mail-tip poller compares a first tip without reading the store.
type statusTable struct {
	metrics *metrics
	sink    Sink

	mu   sync.Mutex
	byID map[string]statusEntry
	// scratch is the status apply hands to its fn, under mu: a local's
	// address passed to a func value escapes, and every status change of
	// every mailbox allocated it (1.6 % of a load's bytes).
	scratch store.MailboxStatus
}

// statusEntry is one mailbox's row.
type statusEntry struct {
	st store.MailboxStatus
	// oof is the worker's stored automatic-reply settings (nil = none
	// stored); oofKnown says whether the worker has told yet.
	oof      *calendar.OOFSettings
	oofKnown bool
}

func newStatusTable(m *metrics, sink Sink) *statusTable {
	return &statusTable{metrics: m, sink: sink, byID: map[string]statusEntry{}}
}

// reserve sizes an empty table for n mailboxes (Engine.reserveLocked).
func (t *statusTable) reserve(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.byID) == 0 {
		t.byID = make(map[string]statusEntry, n)
	}
}

// create adds a mailbox in state queued (its worker waits for its first
// step); it reports whether the entry
// is new. The new entry is not reported here: its worker reports it when it
// starts, so that the sink hears of a mailbox from one goroutine, in order.
func (t *statusTable) create(smtp string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byID[smtp]; ok {
		return false
	}
	t.byID[smtp] = statusEntry{st: store.MailboxStatus{SMTP: smtp, State: StateQueued}}
	t.metrics.states.WithLabelValues(StateQueued).Inc()
	return true
}

// drop forgets a mailbox that is no longer synced.
func (t *statusTable) drop(smtp string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byID[smtp]; ok {
		t.metrics.states.WithLabelValues(e.st.State).Dec()
		delete(t.byID, smtp)
	}
}

// get returns a copy of one mailbox's status.
func (t *statusTable) get(smtp string) (store.MailboxStatus, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byID[smtp]
	return copyStatus(e.st), ok
}

// all returns a copy of every status, sorted by address.
func (t *statusTable) all() []store.MailboxStatus {
	t.mu.Lock()
	out := make([]store.MailboxStatus, 0, len(t.byID))
	for _, e := range t.byID {
		out = append(out, copyStatus(e.st))
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b store.MailboxStatus) int { return strings.Compare(a.SMTP, b.SMTP) })
	return out
}

// counts returns how many mailboxes are in each state.
func (t *statusTable) counts() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for _, e := range t.byID {
		out[e.st.State]++
	}
	return out
}

// notLive counts the mailboxes that are not live.
func (t *statusTable) notLive() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.byID {
		if e.st.State != StateLive {
			n++
		}
	}
	return n
}

// failing counts mailboxes that do not sync: in back-off, denied, waiting
// behind the credential gate, or retrying after failures.
func (t *statusTable) failing() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.byID {
		st := e.st
		switch {
		case st.State == StateBackoff, st.State == StateDenied, st.State == StateWaiting:
			n++
		case st.ConsecutiveFailures > 0 && st.State != StateLive:
			n++
		}
	}
	return n
}

// undiscovered counts mailboxes waiting for their first Autodiscover
// answer (queued for their first step, or discovering with no group yet).
func (t *statusTable) undiscovered() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.byID {
		if e.st.State == StateQueued || e.st.State == StateDiscovering && e.st.Group == "" {
			n++
		}
	}
	return n
}

// update applies fn to a mailbox's status and returns the result; it does
// nothing (false) for a mailbox no longer synced. A change of state or
// error code goes to the sink; only the mailbox's worker makes such changes
// (streams touch the connection, hints the last event), which keeps the
// sink's reports of one mailbox in order.
func (t *statusTable) update(smtp string, fn func(*store.MailboxStatus)) (store.MailboxStatus, bool) {
	st, changed, ok := t.apply(smtp, fn)
	if changed {
		t.sink.StatusChanged(st)
	}
	return st, ok
}

// apply is update without the report: changed says whether the caller must
// report st (for callers that apply under a lock of their own).
func (t *statusTable) apply(smtp string, fn func(*store.MailboxStatus)) (st store.MailboxStatus, changed, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byID[smtp]
	if !ok {
		return store.MailboxStatus{}, false, false
	}
	old := e.st
	t.scratch = old
	fn(&t.scratch)
	st, t.scratch = t.scratch, store.MailboxStatus{} // the table keeps no copy's references
	st.SMTP = smtp
	e.st = st
	t.byID[smtp] = e
	if old.State != st.State {
		t.metrics.states.WithLabelValues(old.State).Dec()
		t.metrics.states.WithLabelValues(st.State).Inc()
	}
	return copyStatus(st), keyOf(old) != keyOf(st), true
}

func copyStatus(st store.MailboxStatus) store.MailboxStatus {
	if st.LastError != nil {
		le := *st.LastError
		st.LastError = &le
	}
	return st
}
