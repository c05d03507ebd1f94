package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/calsync/calsync/store"
)

// codeWaitingForCredentials is the LastError code of a mailbox waiting
// behind the credential gate.
const codeWaitingForCredentials = "WaitingForCredentials"

// call runs one EWS request of the mailbox within the budget (see gated).
func (w *worker) call(ctx context.Context, fn func(context.Context) error) error {
	return w.gated(func() error { return w.env.call(ctx, w.smtp, w.disc.EWSURL, fn) })
}

// gated runs fn, a step that sends requests. While the credential gate is
// closed (Exchange rejected the service account) the request waits, and
// the mailbox says so: state waiting, with the reason and the next attempt
// as its last error. Its state returns when fn does.
func (w *worker) gated(fn func() error) error {
	closed, next := w.env.budget.creds.closed()
	if !closed {
		return fn()
	}
	return w.gatedWaiting(fn, next)
}

// gatedWaiting is gated while the gate is closed. It is not inlined: its
// status copies would widen gated's frame, which is on the worker's stack
// during every request (see worker.loop).
//
//go:noinline
func (w *worker) gatedWaiting(fn func() error, next time.Time) error {
	prev, _ := w.env.status.get(w.smtp)
	msg := fmt.Sprintf("waiting: Exchange rejected the service account's credentials (HTTP 401); one request tries again at %s for all mailboxes", next.UTC().Format("15:04:05Z"))
	w.env.status.update(w.smtp, func(st *store.MailboxStatus) {
		st.State = StateWaiting
		st.LastError = &store.SyncError{Code: codeWaitingForCredentials, Message: msg, Hint: recoveries["HTTP401"].hint, At: w.env.clk.Now()}
	})
	err := fn()
	w.env.status.update(w.smtp, func(st *store.MailboxStatus) {
		st.State = prev.State
		if err == nil && st.LastError != nil && st.LastError.Code == codeWaitingForCredentials {
			// The wait is over and was no error of this mailbox's; a
			// failure is recorded by its handling next.
			st.LastError = prev.LastError
		}
	})
	return err
}
