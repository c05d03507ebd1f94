package engine

import (
	"context"
	"time"
)

// Stopping. Every worker still its mailbox's when the engine stops leaves
// the status "stopped" (retire). Stored by each worker as it ended, that
// was one store write per mailbox — 50,000 at a large instance's stop,
// each its own call into the store's group commit. The statuses are kept
// instead (Engine.stopped) and stored with one SaveStatuses call once
// every worker has ended: no worker writes any more then, so nothing can
// overwrite them, and no successor starts while the engine stops.
//
// A crash during the stop leaves each mailbox with the stopped status or
// with its last one, as before: the store writes the batch in
// transactions of its own size, and every status is only its mailbox's.
// A restart does not read the stored state (restore takes the counters,
// the last error and the zone, which the batch carries unchanged); the
// presence scheduler and the cluster's API read it, and "stopped" or the
// last state are both states they saw before.

// stopStoreTimeout bounds the batch's store call: the store writes it in
// transactions of a thousand or so (≈ 1 s for 50,000 with bolt), and a
// store that does not come back must not hold the stop for ever.
const stopStoreTimeout = time.Minute

// saveStopped stores the statuses the workers left while the engine stopped.
func (e *Engine) saveStopped() {
	e.mu.Lock()
	sts := e.stopped
	e.stopped = nil
	e.mu.Unlock()
	if len(sts) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.runCtx), stopStoreTimeout)
	defer cancel()
	if err := e.env.st.SaveStatuses(ctx, sts); err != nil {
		e.log.Warn("saving the stopped mailboxes' statuses failed", "mailboxes", len(sts), "err", err)
	}
}
