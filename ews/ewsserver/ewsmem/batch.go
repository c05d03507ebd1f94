package ewsmem

import (
	"context"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// batch runs the items of one multi-item request (GetItem, CreateItem,
// UpdateItem, DeleteItem) the way Exchange does: in input order, the
// budget checked and charged per item, each item taking its simulated
// execution time (the item-latency fault, waited out on the clock), and
// the remaining items answered ErrorBatchProcessingStopped (Warning) after
// a stop-the-batch error or once the batch has executed for
// Options.BatchTimeLimit ("EWS limits the execution time of a batch
// request to one minute", ews-throttling-in-exchange).
//
// Only simulated execution time counts against the limit, so with the
// default zero item latency a batch is never cut, however far a test
// advances a fake clock meanwhile. A batch is used by one goroutine.
type batch struct {
	x       *Exchange
	c       *ewsserver.Caller
	limit   time.Duration // <= 0: no limit
	spent   time.Duration // simulated execution time so far
	stopped bool
}

func (x *Exchange) newBatch(c *ewsserver.Caller) *batch {
	return &batch{x: x, c: c, limit: x.opts.BatchTimeLimit}
}

// begin is called before item i runs. A non-nil error is the item's
// result, and the item must not run.
func (b *batch) begin(ctx context.Context, i int) error {
	if b.stopped {
		return batchStopped()
	}
	if i > 0 && b.limit > 0 && b.spent >= b.limit {
		b.stopped = true
		b.x.throttle.count("BatchTimeLimit")
		return batchStopped()
	}
	if err := b.x.chargeItem(b.c, i); err != nil {
		b.stopped = true
		return err
	}
	if d := b.x.conditions.ItemLatency(); d > 0 {
		if err := sleepCtx(ctx, b.x, d); err != nil {
			b.stopped = true
			return err
		}
		b.spent += d
	}
	return nil
}

// end records an item's outcome and returns it; a stop-the-batch error
// stops the rest of the batch.
func (b *batch) end(err error) error {
	if stopsBatch(err) {
		b.stopped = true
	}
	return err
}

// stopsBatch reports whether an item error stops the rest of a batch
// (the remaining items get ErrorBatchProcessingStopped): the examples of
// Microsoft's ResponseCode reference plus throttling.
func stopsBatch(err error) bool {
	code, _ := ews.CodeOf(err)
	switch code {
	case ews.ErrorAccessDenied, ews.ErrorAccountDisabled, ews.ErrorADUnavailable, ews.ErrorADOperation,
		ews.ErrorConnectionFailed, ews.ErrorMailboxStoreUnavailable, ews.ErrorMailboxMoveInProgress,
		ews.ErrorPasswordChangeRequired, ews.ErrorPasswordExpired, ews.ErrorQuotaExceeded,
		ews.ErrorInsufficientResources, ews.ErrorServerBusy:
		return true
	}
	return false
}

// batchStopped is the Warning the items after a stop-the-batch error get.
func batchStopped() error {
	e := ewsserver.Fail(ews.ErrorBatchProcessingStopped, "The batch was stopped because an earlier item failed.")
	e.Class = ews.ClassWarning
	return e
}

// chargeItem charges one batch item to the caller's budget; past the
// cutoff the item fails with ErrorServerBusy (and stops the batch).
func (x *Exchange) chargeItem(c *ewsserver.Caller, i int) error {
	if i == 0 {
		return nil // the request itself was charged by Admit
	}
	return x.throttle.charge(budgetKey(c))
}
