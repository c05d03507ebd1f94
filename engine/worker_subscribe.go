package engine

// Subscribing: a worker finds its mailbox's routing (Autodiscover), joins
// the streaming group the routing names, subscribes (streaming or pull) and,
// in pull mode, polls GetEvents. Everything here turns Exchange's
// notifications into hints; the reads are in worker_read.go.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/store"
)

func (w *worker) discover() error {
	w.setState(StateDiscovering, false)
	var res DiscoverResult
	err := w.gated(func() error {
		var err error
		if ask := w.discoAsk; ask != nil {
			// Queued at restore (the batches fill before the steps
			// begin); nothing since asked for a newer answer (collect).
			w.discoAsk = nil
			res, err = awaitDiscover(w.ctx, ask)
			return err
		}
		res, err = w.env.disco.discover(w.ctx, w.smtp)
		return err
	})
	if err != nil {
		if w.discovered && !w.routingStale && w.ctx.Err() == nil {
			// Autodiscover is a separate service: while it is down, a lost
			// subscription is renewed with the routing already known
			// rather than leaving the mailbox without notifications and
			// reads until Autodiscover is back. Had the mailbox moved, the
			// next calls fail with a move or proxy error, which demands a
			// fresh answer.
			w.env.log.Info("autodiscover failed; keeping the known routing", "smtp", w.smtp, "code", ErrorCode(err), "err", Describe(err))
			w.need &^= needDiscover
			return nil
		}
		return err
	}
	w.routingStale = false
	key := res.GroupKey()
	if w.discovered && key != w.group {
		w.env.log.Info("mailbox moved; regrouping", "smtp", w.smtp, "from", w.group, "to", key)
		w.dropSubscription()
		w.need |= needSubscribe | needRead
	}
	if w.env.opts.Mode == Streaming && (key != w.group || !w.discovered) {
		if w.group != "" {
			w.env.groups.leave(w.group, w.smtp)
		}
		w.env.groups.join(key, res, w.smtp)
	}
	w.disc, w.group, w.discovered = res, key, true
	if res.TimeZone != "" {
		w.setZone(res.TimeZone)
	}
	if w.env.opts.Mode == Streaming && w.sub.ID != "" && w.need&needSubscribe == 0 {
		w.env.groups.attach(w.group, w.smtp, w.sub.ID)
	}
	w.env.status.update(w.smtp, func(st *store.MailboxStatus) {
		st.Group = key
		st.EWSURL = res.EWSURL
		if w.env.opts.Mode == Pull {
			st.Connection = "pull"
		}
	})
	w.need &^= needDiscover
	return nil
}

// dropSubscription forgets the current subscription (it is gone or stale).
func (w *worker) dropSubscription() {
	if w.sub.ID == "" {
		return
	}
	if w.env.opts.Mode == Streaming {
		w.env.groups.detach(w.group, w.smtp)
	}
	w.env.metrics.subscriptions.WithLabelValues(string(w.env.opts.Mode)).Dec()
	w.sub = Subscription{}
}

func (w *worker) target() Target {
	return Target{SMTP: w.smtp, EWSURL: w.disc.EWSURL}
}

func (w *worker) subscribe() error {
	w.setState(StateSubscribing, false)
	w.dropSubscription()
	t := w.target()
	if w.env.opts.Mode == Streaming {
		t.Anchor, t.Cookie = w.env.groups.affinity(w.ctx, w.group, w.smtp)
		t.Affinity = true
	}
	var sub Subscription
	err := w.call(w.ctx, func(ctx context.Context) error {
		var err error
		sub, err = w.env.ex.Subscribe(ctx, t, SubscribeRequest{Mode: w.env.opts.Mode, Timeout: w.env.opts.PullTimeout})
		return err
	})
	if err != nil {
		if a := classify(err).act; w.env.opts.Mode == Streaming && (a == actDenied || a == actRediscover || a == actMoving) {
			w.env.groups.subscribeFailed(w.group, w.smtp)
		}
		return err
	}
	if sub.ID == "" {
		return &ExchangeError{Code: "ErrorInvalidSubscription", Err: errors.New("engine: Subscribe returned no subscription id")}
	}
	w.sub = sub
	w.subUnsaved = true
	w.env.metrics.subscriptions.WithLabelValues(string(w.env.opts.Mode)).Inc()
	if w.env.opts.Mode == Streaming {
		w.env.groups.subscribed(w.group, w.smtp, sub.Cookie)
		w.env.groups.attach(w.group, w.smtp, sub.ID)
	} else {
		w.nextPull = w.env.clk.Now().Add(w.env.opts.PullInterval)
	}
	// Changes between the loss of the old subscription and the new one are
	// invisible: always re-read after subscribing. The read is a recovery's
	// even when a notification's read was due too: its events, which the
	// stored window may well show (worker_replay.go), name none of those
	// changes, so they must not skip it.
	w.need &^= needSubscribe
	w.need |= needRead
	if w.readReason == "" || w.readReason == "notification" {
		w.readReason = "resubscribe"
	}
	return nil
}

// poll runs GetEvents until the queue is drained (pull mode).
func (w *worker) poll() error {
	w.need &^= needPoll
	w.nextPull = w.env.clk.Now().Add(w.env.opts.PullInterval)
	if w.sub.ID == "" {
		w.need |= needSubscribe | needRead
		return nil
	}
	before := w.sub.Watermark
	var relevant []Event
	for range 100 {
		var b EventBatch
		err := w.call(w.ctx, func(ctx context.Context) error {
			var err error
			b, err = w.env.ex.GetEvents(ctx, w.target(), w.sub.ID, w.sub.Watermark)
			return err
		})
		if err != nil {
			if len(relevant) > 0 {
				// Earlier answers of this loop took events off the server's
				// queue: hint them, to be read once the failure is handled.
				// A bare needRead would not do: a notification's read due
				// by then checks only its own events against the stored
				// window (worker_replay.go) and could skip these.
				w.hintEvents(w.env.clk.Now(), relevant)
			}
			return err
		}
		if b.Watermark != "" {
			w.sub.Watermark = b.Watermark
		}
		relevant = append(relevant, changeEvents(b.Events)...)
		if !b.MoreEvents {
			break
		}
	}
	if len(relevant) > 0 {
		w.hintEvents(w.env.clk.Now(), relevant)
		return nil
	}
	// Store the watermark alone only when every event before it has been
	// read: while a hinted re-read is still coalescing (or due), the stored
	// watermark must stay behind, or a restart would resume past events
	// that no read covered (the read's commit stores it).
	if w.sub.Watermark != before && w.need&needRead == 0 && w.loaded && w.coalesceUntil.IsZero() && !w.hintPending() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
		defer cancel()
		if err := w.env.st.SaveCheckpoint(sctx, w.smtp, w.checkpoint(w.env.clk.Now())); err != nil {
			return fmt.Errorf("engine: save checkpoint of %s: %w", w.smtp, err)
		}
		w.subUnsaved = false
	}
	return nil
}

// saveSubscription stores the checkpoint when it would name another
// subscription than the worker's, for a read that settled "nothing
// changed" by its sync state and so commits nothing: after a
// resubscription (a lost subscription, Exchange restarted) the stored id
// would otherwise stay the dead one until the next change's commit, and a
// restart would resume it, fail, resubscribe and read again. The window,
// sync state and watermark it stores are those the read just verified
// (the check came after the subscription, so its watermark passes no
// unread event). Not in a cluster: a stored subscription is never resumed
// there (resumable).
func (w *worker) saveSubscription(now time.Time) error {
	if !w.subUnsaved || !w.resumable() {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
	defer cancel()
	if err := w.env.st.SaveCheckpoint(sctx, w.smtp, w.checkpoint(now)); err != nil {
		return fmt.Errorf("engine: save checkpoint of %s: %w", w.smtp, err)
	}
	w.subUnsaved = false
	return nil
}

// hintPending reports whether a notification hint waits to be collected.
func (w *worker) hintPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending&trigHint != 0
}
