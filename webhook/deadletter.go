package webhook

import (
	"context"
	"fmt"

	"github.com/calsync/calsync/store"
)

// DeadLetters lists the dead-lettered deliveries q selects, oldest first:
// endpoint, delivery id, key (the user), event type, attempts, last error
// and when each was dead-lettered (store.OutboxMessage.DeadAt). Dead
// letters of endpoints that are no longer configured are listed too.
// Page with q.After set to the Seq of the last message of a page.
func (d *Dispatcher) DeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.OutboxMessage, error) {
	msgs, err := d.opts.Outbox.DeadLetters(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("webhook: listing dead letters: %w", err)
	}
	return msgs, nil
}

// RetryDeadLetter sends one dead letter again, typically after its
// receiver was fixed. The message goes back to the outbox under its
// original delivery id and with the same body, so receivers that already
// processed it can deduplicate; it gets a fresh retry budget (attempts and
// age bound count from now) and is attempted right away, before any later
// message of its key that is still pending and never in parallel with one.
// It returns the message as re-queued.
//
// An id that is not a dead letter (unknown, pending, delivered or already
// re-queued) returns an error wrapping store.ErrNotFound; a dead letter of
// an endpoint that is not configured any more returns one wrapping
// ErrUnknownEndpoint and stays dead.
func (d *Dispatcher) RetryDeadLetter(ctx context.Context, id string) (store.OutboxMessage, error) {
	m, err := d.opts.Outbox.DeadLetter(ctx, id)
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("webhook: retry dead letter %s: %w", id, err)
	}
	ep := d.endpoints[m.Endpoint]
	if ep == nil {
		return store.OutboxMessage{}, fmt.Errorf("webhook: retry dead letter %s: %w: %q; configure it again to re-send its dead letters", id, ErrUnknownEndpoint, m.Endpoint)
	}
	m, err = d.opts.Outbox.RequeueDeadLetter(ctx, id, d.clock.Now())
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("webhook: retry dead letter %s: %w", id, err)
	}
	d.log.Info("webhook: dead letter re-queued", "endpoint", ep.Name, "delivery", m.ID, "event", m.EventType, "key", m.Key, "requeues", m.Requeues)
	d.requeued(ctx, ep, 1)
	return m, nil
}

// RetryDeadLetters sends every dead letter of one endpoint again, as
// RetryDeadLetter does for one, in one outbox transaction, and returns how
// many it re-queued (0 when there were none). Each key's messages keep
// their original order. An endpoint that is not configured returns an
// error wrapping ErrUnknownEndpoint.
func (d *Dispatcher) RetryDeadLetters(ctx context.Context, endpoint string) (int, error) {
	ep := d.endpoints[endpoint]
	if ep == nil {
		return 0, fmt.Errorf("webhook: retry dead letters: %w: %q", ErrUnknownEndpoint, endpoint)
	}
	n, err := d.opts.Outbox.RequeueDeadLetters(ctx, endpoint, d.clock.Now())
	if err != nil {
		return 0, fmt.Errorf("webhook: retry dead letters of %s: %w", endpoint, err)
	}
	if n > 0 {
		d.log.Info("webhook: dead letters re-queued", "endpoint", endpoint, "count", n)
		d.requeued(ctx, ep, n)
	}
	return n, nil
}

// requeued counts n re-queued dead letters, updates the pending and dead
// gauges and wakes the endpoint's loop to send them.
func (d *Dispatcher) requeued(ctx context.Context, ep *endpointState, n int) {
	d.metrics.requeued.WithLabelValues(ep.Name).Add(float64(n))
	d.refreshGauges(ctx)
	select {
	case ep.wake <- struct{}{}:
	default:
	}
}
