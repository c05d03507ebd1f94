package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// healthRetryDelay spaces the attempts to publish sync.health events whose
// durable sink (the webhook outbox) failed.
const healthRetryDelay = 5 * time.Second

// healthEvents turns the engine's status reports into sync.health events.
// The engine reports from its workers, which must not wait for a disk
// write, so reports are queued and run publishes what has gathered as one
// batch: one outbox transaction however many mailboxes changed.
type healthEvents struct {
	events events.Sink
	clock  clock.Clock
	log    *slog.Logger

	mu      sync.Mutex
	pending []store.MailboxStatus
	settled map[string]bool // mailboxes whose first sync ended (live or failed)
	wake    chan struct{}
}

func newHealthEvents(sink events.Sink, clk clock.Clock, log *slog.Logger) *healthEvents {
	return &healthEvents{events: sink, clock: clk, log: log, settled: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// add queues a status change. The steps of a mailbox's first sync
// (queued, discovering, subscribing, loading) are not news and are left out;
// its first settled state (live, or a failure) and every change after it
// are published. At a start with 10,000 mailboxes that is one event each.
func (h *healthEvents) add(st store.MailboxStatus) {
	h.mu.Lock()
	if !h.settled[st.SMTP] {
		if firstSyncStep(st) {
			h.mu.Unlock()
			return
		}
		h.settled[st.SMTP] = true
	}
	h.pending = append(h.pending, st)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func firstSyncStep(st store.MailboxStatus) bool {
	switch st.State {
	case engine.StateQueued, engine.StateDiscovering, engine.StateSubscribing, engine.StateLoading:
		return st.LastError == nil
	}
	return false
}

// run publishes the queued changes until ctx ends. A batch its durable
// sink could not take is published again after healthRetryDelay, ahead of
// the changes queued meanwhile, so per mailbox the order holds.
func (h *healthEvents) run(ctx context.Context) error {
	var retry []events.Event
	for {
		if err := h.wait(ctx, retry != nil); err != nil {
			return nil
		}
		batch := append(retry, h.take()...)
		retry = nil
		if len(batch) == 0 {
			continue
		}
		if err := h.events.Publish(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.log.Warn("publishing sync.health events failed; retrying", "events", len(batch), "retry_in", healthRetryDelay.String(), "err", err)
			retry = batch
		}
	}
}

// wait returns when changes are queued or, after a failure, when the
// retry is due; an error when ctx ends.
func (h *healthEvents) wait(ctx context.Context, retrying bool) error {
	if !retrying {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-h.wake:
			return nil
		}
	}
	t := h.clock.NewTimer(healthRetryDelay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// take empties the queue into events.
func (h *healthEvents) take() []events.Event {
	h.mu.Lock()
	pending := h.pending
	h.pending = nil
	h.mu.Unlock()
	out := make([]events.Event, 0, len(pending))
	for _, st := range pending {
		ev, err := api.SyncHealthEvent(st)
		if err != nil {
			h.log.Error("encoding a sync.health event failed", "user", st.SMTP, "err", err)
			continue
		}
		out = append(out, ev)
	}
	return out
}
