package engine

// The mail-tip poller compares each mailbox's first tip with the
// automatic-reply settings its worker stored (oofpoll.go,
// differsFromStored). Reading the mailbox's stored record for that cost a
// store read per mailbox and round start; it was most of the idle CPU
// after a load at 10,000 mailboxes. Instead, the worker leaves the
// settings it stored, or found stored when it started, in its status
// table entry: the poller reads them from there. The worker is the
// mailbox's single writer, so what it leaves is what the store holds —
// also after a restart or a cluster takeover, where the new worker reads
// its record at start (restore) and leaves the settings it found.

import (
	"time"

	"github.com/calsync/calsync/calendar"
)

// keepOOF records oof as the settings the worker stored or found stored
// (nil = none). oof is never changed after this: the worker replaces it.
func (w *worker) keepOOF(oof *calendar.OOFSettings) {
	w.oof = oof
	w.env.status.setStoredOOF(w.smtp, oof)
}

// setStoredOOF records a mailbox's stored automatic-reply settings.
func (t *statusTable) setStoredOOF(smtp string, oof *calendar.OOFSettings) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byID[smtp]; ok {
		e.oof, e.oofKnown = oof, true
		t.byID[smtp] = e
	}
}

// storedOOFActive reports whether the stored automatic replies of smtp
// are on at now; known is false until the mailbox's worker has stored or
// read its settings (the caller then asks the store).
func (t *statusTable) storedOOFActive(smtp string, now time.Time) (active, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byID[smtp]
	if !ok || !e.oofKnown {
		return false, false
	}
	return e.oof != nil && e.oof.ActiveAt(now), true
}
