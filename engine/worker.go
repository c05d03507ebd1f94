package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// trigger is a coalescing message to a worker. Sends never block: they set
// a bit and wake the worker; bits pile up into one pending request.
type trigger uint8

const (
	trigHint        trigger = 1 << iota // notification: coalesce, then re-read
	trigVerify                          // re-read now (stream reconnected)
	trigResubscribe                     // the subscription is gone
	trigRediscover                      // routing is stale
	trigSync                            // manual sync now
)

// need is the work a worker still has to do before it is live.
type need uint8

const (
	needDiscover need = 1 << iota
	needSubscribe
	needRead
	needOOF
)

// storeTimeout bounds one store write; store writes outlive cancellation so
// that a shutdown finishes in-flight commits.
const storeTimeout = 10 * time.Second

// worker syncs one mailbox. Its loop runs on one goroutine started by the
// supervisor; fields below "owned by the loop" are touched only there.
type worker struct {
	e      *Engine
	smtp   string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	prev   *worker // previous worker of the same mailbox, still stopping
	wake   chan struct{}
	// announce: the supervisor created the mailbox's status for this
	// worker, which reports it to the sink when it starts.
	announce bool

	mu        sync.Mutex
	pending   trigger
	firstHint time.Time // earliest hint not yet covered by a read
	replies   []chan error
	removed   bool

	// Owned by the loop.
	need       need
	disc       DiscoverResult
	discovered bool
	// routingStale is set when the mailbox's routing is known to be wrong
	// (moved, proxy errors): only a fresh Autodiscover answer will do.
	routingStale  bool
	loc           *time.Location
	group         string
	sub           Subscription
	window        calendar.Window
	fingerprint   uint64
	haveFP        bool
	oof           *calendar.OOFSettings
	failures      int
	loaded        bool
	hintAt        time.Time // first hint of the batch being coalesced
	coalesceUntil time.Time
	nextReconcile time.Time
	nextRoll      time.Time
	nextPull      time.Time
	nextOOF       time.Time
	readReason    string
	// persistedState and persistedAt describe the last stored status.
	persistedState string
	persistedAt    time.Time
}

func newWorker(e *Engine, smtp string, ctx context.Context, cancel context.CancelFunc) *worker {
	return &worker{e: e, smtp: smtp, ctx: ctx, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// notify sets trigger bits and wakes the worker; it never blocks.
func (w *worker) notify(t trigger) {
	w.mu.Lock()
	w.pending |= t
	if t&trigHint != 0 && w.firstHint.IsZero() {
		w.firstHint = w.e.clk.Now()
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// hint reports notification events for the mailbox.
func (w *worker) hint(at time.Time) {
	w.notify(trigHint)
	w.e.updateStatus(w.smtp, func(st *store.MailboxStatus) { st.LastEvent = at })
}

func (w *worker) requestSync(reply chan error) {
	w.mu.Lock()
	w.replies = append(w.replies, reply)
	w.mu.Unlock()
	w.notify(trigSync)
}

func (w *worker) answer(err error) {
	w.mu.Lock()
	rs := w.replies
	w.replies = nil
	w.mu.Unlock()
	for _, r := range rs {
		r <- err
	}
}

// stop cancels the worker and waits for it. removed=true also ends its
// subscription, because the mailbox is no longer synced.
func (w *worker) stop(removed bool) {
	if removed {
		w.markRemoved()
	}
	w.cancel()
	<-w.done
}

// markRemoved makes the stopping worker end its subscription.
func (w *worker) markRemoved() {
	w.mu.Lock()
	w.removed = true
	w.mu.Unlock()
}

// loop is the worker goroutine: it runs the state machine and restarts it
// with back-off after a panic.
func (w *worker) loop() {
	defer close(w.done)
	defer w.finish()
	if w.announce {
		if st, err := w.e.Status(w.smtp); err == nil {
			w.e.sink.StatusChanged(st)
		}
	}
	if w.prev != nil {
		select {
		case <-w.prev.done:
		default:
			w.e.log.Debug("waiting for the previous worker of the mailbox to finish", "smtp", w.smtp)
			select {
			case <-w.prev.done:
			case <-w.ctx.Done():
				// Stopped before it started. A worker started after this one
				// waits only for this one, so this one must not finish before
				// its predecessor does: each mailbox keeps a single writer
				// even when Remove and Add race.
				w.e.log.Debug("mailbox worker stopped before it started; waiting for the previous one to finish", "smtp", w.smtp)
				<-w.prev.done
				return
			}
		}
	}
	for attempt := 1; ; attempt++ {
		if !w.runRecovered() || w.ctx.Err() != nil {
			return
		}
		if sleep(w.ctx, w.e.clk, w.e.backoffDelay(attempt)) != nil {
			return
		}
	}
}

// runRecovered runs the state machine and reports whether it panicked.
func (w *worker) runRecovered() (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			w.e.log.Error("mailbox worker panicked; restarting", "smtp", w.smtp, "panic", r)
			w.setError(fmt.Errorf("engine: internal error: %v", r), "InternalError", "calsync hit an internal error and restarted the mailbox's worker; please report it.")
		}
	}()
	w.run()
	return false
}

func (w *worker) run() {
	w.restore()
	for w.ctx.Err() == nil {
		w.collect()
		if w.need != 0 {
			if err := w.step(); err != nil {
				if !w.handleFailure(err) {
					return
				}
			}
			continue
		}
		w.failures = 0
		w.setState(StateLive, false)
		if err := w.waitLive(); err != nil {
			if !w.handleFailure(err) {
				return
			}
		}
	}
}

// restore resumes from the stored checkpoint.
func (w *worker) restore() {
	o := w.e.opts
	w.need = needDiscover | needSubscribe | needRead | needOOF
	w.loc = o.Window.DefaultTimeZone
	w.sub = Subscription{}
	rec, err := w.e.st.Mailbox(w.ctx, w.smtp)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			w.e.log.Warn("reading stored checkpoint failed; starting fresh", "smtp", w.smtp, "err", err)
		}
		return
	}
	cp := rec.Checkpoint
	w.window = cp.Window
	w.oof = rec.OOF
	w.e.updateStatus(w.smtp, func(st *store.MailboxStatus) {
		st.LastVerified = rec.Status.LastVerified
		st.LastEvent = rec.Status.LastEvent
		st.Occurrences = rec.Status.Occurrences
		st.LastError = rec.Status.LastError
	})
	if cp.SubscriptionID != "" && cp.NotificationMode == string(o.Mode) {
		// Reuse the subscription: streaming re-verifies with one read; pull
		// polls from the stored watermark and reads only if the window
		// rolled or events arrived.
		w.sub = Subscription{ID: cp.SubscriptionID, Watermark: cp.Watermark}
		w.e.metrics.subscriptions.WithLabelValues(string(o.Mode)).Inc()
		w.need &^= needSubscribe
		if o.Mode == Pull && cp.Window == o.Window.windowAt(w.e.clk.Now(), w.loc) && !cp.Window.IsZero() {
			w.need &^= needRead | needOOF
			w.loaded = true
			w.nextPull = w.e.clk.Now()
			// No read at start, so arm the window roll here (a read
			// arms it otherwise); discover re-arms it in the mailbox's zone.
			w.nextRoll = w.rollAfter(w.e.clk.Now())
			// No read at start: spread the first reconciliation over the
			// interval so that a restart does not re-read every mailbox at once.
			w.scheduleReconcile(true)
			w.scheduleOOF()
		}
	}
}

// collect turns pending triggers into needs.
func (w *worker) collect() {
	w.mu.Lock()
	p := w.pending
	w.pending = 0
	first := w.firstHint
	w.mu.Unlock()
	now := w.e.clk.Now()
	if p&trigRediscover != 0 {
		w.need |= needDiscover | needSubscribe | needRead
		w.routingStale = true
		w.readReason = "recovery"
	}
	if p&trigResubscribe != 0 {
		// A lost subscription may mean the mailbox moved: Autodiscover is
		// batched and cheap, so look again before resubscribing.
		w.need |= needDiscover | needSubscribe | needRead
		w.readReason = "recovery"
	}
	if p&trigVerify != 0 {
		w.need |= needRead
		if w.readReason == "" {
			w.readReason = "recovery"
		}
	}
	if p&trigSync != 0 {
		w.need |= needRead | needOOF
		w.readReason = "manual"
	}
	if p&trigHint != 0 && w.coalesceUntil.IsZero() {
		if first.IsZero() {
			first = now
		}
		w.hintAt = first
		w.coalesceUntil = first.Add(w.e.opts.CoalesceDelay)
	}
	if !w.coalesceUntil.IsZero() && !now.Before(w.coalesceUntil) {
		w.need |= needRead
		if w.readReason == "" {
			w.readReason = "notification"
		}
	}
}

// step performs the most urgent piece of work.
func (w *worker) step() error {
	switch {
	case w.need&needDiscover != 0:
		return w.discover()
	case w.need&needSubscribe != 0:
		return w.subscribe()
	case w.need&needRead == 0:
		return w.refreshOOF()
	default:
		return w.read()
	}
}

// refreshOOF re-reads only the automatic-reply settings.
func (w *worker) refreshOOF() error {
	var s calendar.OOFSettings
	err := w.e.call(w.ctx, w.smtp, w.disc.EWSURL, func(ctx context.Context) error {
		var err error
		s, err = w.e.ex.OOF(ctx, w.target())
		return err
	})
	if err != nil {
		return err
	}
	w.need &^= needOOF
	w.scheduleOOF()
	if w.oof != nil && *w.oof == s {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
	defer cancel()
	if err := w.e.st.SaveOOF(sctx, w.smtp, s); err != nil {
		return fmt.Errorf("engine: save OOF of %s: %w", w.smtp, err)
	}
	w.oof = &s
	w.e.sink.CalendarChanged(w.smtp)
	return nil
}

// scheduleOOF plans the next automatic-replies refresh, if enabled.
func (w *worker) scheduleOOF() {
	if w.e.opts.OOFInterval <= 0 {
		w.nextOOF = time.Time{}
		return
	}
	w.nextOOF = w.e.clk.Now().Add(w.e.jitter(w.e.opts.OOFInterval, 0.2))
}

func (w *worker) discover() error {
	w.setState(StateDiscovering, false)
	res, err := w.e.disco.discover(w.ctx, w.smtp)
	if err != nil {
		if w.discovered && !w.routingStale && w.ctx.Err() == nil {
			// Autodiscover is a separate service: while it is down, a lost
			// subscription is renewed with the routing already known
			// rather than leaving the mailbox without notifications and
			// reads until Autodiscover is back. Had the mailbox moved, the
			// next calls fail with a move or proxy error, which demands a
			// fresh answer.
			w.e.log.Info("autodiscover failed; keeping the known routing", "smtp", w.smtp, "err", err)
			w.need &^= needDiscover
			return nil
		}
		return err
	}
	w.routingStale = false
	key := res.GroupingInformation + "|" + res.EWSURL
	if w.discovered && key != w.group {
		w.e.log.Info("mailbox moved; regrouping", "smtp", w.smtp, "from", w.group, "to", key)
		w.dropSubscription()
		w.need |= needSubscribe | needRead
	}
	if w.e.opts.Mode == Streaming && (key != w.group || !w.discovered) {
		if w.group != "" {
			w.e.streams.leave(w.group, w.smtp)
		}
		w.e.streams.join(key, res, w.smtp)
	}
	w.disc, w.group, w.discovered = res, key, true
	loc := loadZone(res.TimeZone, w.e.opts.Window.DefaultTimeZone)
	if loc.String() != w.loc.String() { // (*time.Location)(nil) is UTC
		w.loc = loc
		if w.loaded {
			// The window depends on the zone: re-arm the roll and read
			// if the current window no longer matches.
			now := w.e.clk.Now()
			w.nextRoll = w.rollAfter(now)
			if w.e.opts.Window.windowAt(now, w.loc) != w.window {
				w.need |= needRead
			}
		}
	}
	if w.e.opts.Mode == Streaming && w.sub.ID != "" && w.need&needSubscribe == 0 {
		w.e.streams.attach(w.group, w.smtp, w.sub.ID)
	}
	w.e.updateStatus(w.smtp, func(st *store.MailboxStatus) {
		st.Group = key
		st.EWSURL = res.EWSURL
		st.TimeZone = w.loc.String()
		if w.e.opts.Mode == Pull {
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
	if w.e.opts.Mode == Streaming {
		w.e.streams.detach(w.group, w.smtp)
	}
	w.e.metrics.subscriptions.WithLabelValues(string(w.e.opts.Mode)).Dec()
	w.sub = Subscription{}
}

func (w *worker) target() Target {
	return Target{SMTP: w.smtp, EWSURL: w.disc.EWSURL}
}

func (w *worker) subscribe() error {
	w.setState(StateSubscribing, false)
	w.dropSubscription()
	t := w.target()
	if w.e.opts.Mode == Streaming {
		t.Anchor, t.Cookie = w.e.streams.affinity(w.group, w.smtp)
		t.Affinity = true
	}
	var sub Subscription
	err := w.e.call(w.ctx, w.smtp, w.disc.EWSURL, func(ctx context.Context) error {
		var err error
		sub, err = w.e.ex.Subscribe(ctx, t, SubscribeRequest{Mode: w.e.opts.Mode, Timeout: w.e.opts.PullTimeout})
		return err
	})
	if err != nil {
		return err
	}
	if sub.ID == "" {
		return &ExchangeError{Code: "ErrorInvalidSubscription", Err: errors.New("engine: Subscribe returned no subscription id")}
	}
	w.sub = sub
	w.e.metrics.subscriptions.WithLabelValues(string(w.e.opts.Mode)).Inc()
	if w.e.opts.Mode == Streaming {
		if sub.Cookie != "" {
			w.e.streams.setCookie(w.group, sub.Cookie)
		}
		w.e.streams.attach(w.group, w.smtp, sub.ID)
	} else {
		w.nextPull = w.e.clk.Now().Add(w.e.opts.PullInterval)
	}
	// Changes between the loss of the old subscription and the new one are
	// invisible: always re-read after subscribing.
	w.need &^= needSubscribe
	w.need |= needRead
	return nil
}

// read re-reads the window (and OOF when due) and commits atomically.
func (w *worker) read() error {
	now := w.e.clk.Now()
	reason := w.readReason
	if !w.loaded {
		w.setState(StateLoading, false)
		reason = "initial"
	} else {
		w.setState(StateResyncing, false)
		if reason == "" {
			reason = "roll"
		}
	}
	// Hints up to now are covered by this read, and so are the SyncNow
	// requests made so far; later ones wait for the next read (their
	// trigSync is still pending), which sees changes made before them.
	w.mu.Lock()
	w.pending &^= trigHint
	w.firstHint = time.Time{}
	covered := w.replies
	w.replies = nil
	w.mu.Unlock()
	answered := false
	defer func() {
		if !answered {
			// Failed (or panicked): handleFailure answers them with the error.
			w.mu.Lock()
			w.replies = append(covered, w.replies...)
			w.mu.Unlock()
		}
	}()
	hintAt := w.hintAt
	w.coalesceUntil, w.hintAt = time.Time{}, time.Time{}

	win := w.e.opts.Window.windowAt(now, w.loc)
	occs, err := w.view(w.ctx, win.Start, win.End, 0)
	if err != nil {
		w.restoreHint(hintAt)
		return err
	}
	occs = w.sanitize(occs)
	var oof *calendar.OOFSettings
	fullRead := w.need&needOOF != 0
	if fullRead {
		var s calendar.OOFSettings
		err := w.e.call(w.ctx, w.smtp, w.disc.EWSURL, func(ctx context.Context) error {
			var err error
			s, err = w.e.ex.OOF(ctx, w.target())
			return err
		})
		if err != nil {
			w.restoreHint(hintAt)
			return err
		}
		oof = &s
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
	defer cancel()
	w.window = win
	if err := w.e.st.CommitWindow(sctx, w.smtp, store.WindowCommit{Occurrences: occs, Checkpoint: w.checkpoint(now)}); err != nil {
		w.restoreHint(hintAt)
		return fmt.Errorf("engine: commit %s: %w", w.smtp, err)
	}
	w.e.metrics.commits.Inc()
	w.e.metrics.resyncs.WithLabelValues(reason).Inc()
	changed := false
	if oof != nil {
		if w.oof == nil || *w.oof != *oof {
			if err := w.e.st.SaveOOF(sctx, w.smtp, *oof); err != nil {
				return fmt.Errorf("engine: save OOF of %s: %w", w.smtp, err)
			}
			changed = true
		}
		w.oof = oof
	}
	fp := fingerprint(occs)
	if !w.haveFP || fp != w.fingerprint {
		changed = true
	}
	w.fingerprint, w.haveFP = fp, true
	w.need &^= needRead | needOOF
	w.loaded = true
	w.readReason = ""
	done := w.e.clk.Now()
	if !hintAt.IsZero() {
		w.e.metrics.syncLag.Observe(done.Sub(hintAt).Seconds())
	}
	w.nextRoll = w.rollAfter(now)
	if fullRead {
		// Window and OOF were just verified: the next reconciliation is a
		// full interval away (spread by jitter), so that initial loads are
		// not followed by early reconciliations.
		w.scheduleReconcile(false)
		w.scheduleOOF()
	}
	st, _ := w.e.updateStatus(w.smtp, func(st *store.MailboxStatus) {
		st.LastVerified = done
		st.Occurrences = len(occs)
		st.ConsecutiveFailures = 0
		st.State = StateLive
	})
	// The commit already made the data durable; the status (last verified,
	// counts) is persisted on state changes and at most once a minute, so
	// that a busy mailbox does not double the store's write load.
	if w.persistedState != StateLive || done.Sub(w.persistedAt) >= time.Minute {
		w.saveStatus(st)
	}
	answered = true
	for _, r := range covered {
		r <- nil
	}
	if changed {
		w.e.sink.CalendarChanged(w.smtp)
	}
	return nil
}

// rollAfter returns when the window read at now rolls: the next local
// midnight, spread over five minutes so that mailboxes do not all re-read
// at once.
func (w *worker) rollAfter(now time.Time) time.Time {
	return nextRoll(now, w.loc).Add(w.e.jitter(5*time.Minute, 1))
}

// sanitize drops occurrences a hostile or buggy server sent twice or
// with impossible times, so that one bad item cannot block the mailbox.
func (w *worker) sanitize(occs []calendar.Occurrence) []calendar.Occurrence {
	seen := make(map[string]bool, len(occs))
	out := occs[:0]
	for _, o := range occs {
		if err := o.Validate(); err != nil {
			w.e.log.Warn("ignoring invalid occurrence from Exchange", "smtp", w.smtp, "err", err)
			continue
		}
		if seen[o.ItemID] {
			continue
		}
		seen[o.ItemID] = true
		out = append(out, o)
	}
	return out
}

// restoreHint puts a hint batch back after a failed read.
func (w *worker) restoreHint(hintAt time.Time) {
	if !hintAt.IsZero() {
		w.mu.Lock()
		if w.firstHint.IsZero() || hintAt.Before(w.firstHint) {
			w.firstHint = hintAt
		}
		w.pending |= trigHint
		w.mu.Unlock()
	}
}

func (w *worker) checkpoint(now time.Time) store.Checkpoint {
	return store.Checkpoint{
		Window:           w.window,
		SubscriptionID:   w.sub.ID,
		Watermark:        w.sub.Watermark,
		NotificationMode: string(w.e.opts.Mode),
		LoadedAt:         now,
	}
}

// view reads [start, end) with CalendarView, splitting the range while
// Exchange truncates the answer.
func (w *worker) view(ctx context.Context, start, end time.Time, depth int) ([]calendar.Occurrence, error) {
	var page ViewPage
	err := w.e.call(ctx, w.smtp, w.disc.EWSURL, func(ctx context.Context) error {
		var err error
		page, err = w.e.ex.CalendarView(ctx, w.target(), start, end, w.e.opts.MaxViewEntries)
		return err
	})
	w.e.metrics.reads.Inc()
	if err != nil {
		return nil, err
	}
	span := end.Sub(start)
	if page.IncludesLastItemInRange || span <= 2*time.Minute || depth >= 24 {
		if !page.IncludesLastItemInRange {
			w.e.log.Warn("calendar view still truncated in a minimal range", "smtp", w.smtp, "start", start, "end", end)
		}
		return page.Occurrences, nil
	}
	mid := start.Add(span / 2).Truncate(time.Minute)
	left, err := w.view(ctx, start, mid, depth+1)
	if err != nil {
		return nil, err
	}
	right, err := w.view(ctx, mid, end, depth+1)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(left))
	out := left
	for _, o := range left {
		seen[o.ItemID] = true
	}
	for _, o := range right {
		if !seen[o.ItemID] {
			out = append(out, o)
		}
	}
	return out, nil
}

// fingerprint hashes occurrences independent of their order.
func fingerprint(occs []calendar.Occurrence) uint64 {
	sorted := slices.Clone(occs)
	slices.SortFunc(sorted, func(a, b calendar.Occurrence) int { return strings.Compare(a.ItemID, b.ItemID) })
	h := fnv.New64a()
	for _, o := range sorted {
		fmt.Fprintf(h, "%+v\x00", o)
	}
	return h.Sum64()
}

// poll runs GetEvents until the queue is drained (pull mode).
func (w *worker) poll() error {
	w.nextPull = w.e.clk.Now().Add(w.e.opts.PullInterval)
	if w.sub.ID == "" {
		w.need |= needSubscribe | needRead
		return nil
	}
	before := w.sub.Watermark
	relevant := false
	for range 100 {
		var b EventBatch
		err := w.e.call(w.ctx, w.smtp, w.disc.EWSURL, func(ctx context.Context) error {
			var err error
			b, err = w.e.ex.GetEvents(ctx, w.target(), w.sub.ID, w.sub.Watermark)
			return err
		})
		if err != nil {
			if relevant {
				// Earlier answers of this loop took events off the server's
				// queue: re-read once the failure is handled.
				w.need |= needRead
			}
			return err
		}
		if b.Watermark != "" {
			w.sub.Watermark = b.Watermark
		}
		for _, ev := range b.Events {
			if ev.Kind != EventStatus {
				relevant = true
			}
		}
		if !b.MoreEvents {
			break
		}
	}
	if relevant {
		w.hint(w.e.clk.Now())
		return nil
	}
	// Store the watermark alone only when every event before it has been
	// read: while a hinted re-read is still coalescing (or due), the stored
	// watermark must stay behind, or a restart would resume past events
	// that no read covered (the read's commit stores it).
	if w.sub.Watermark != before && w.need&needRead == 0 && w.loaded && w.coalesceUntil.IsZero() && !w.hintPending() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), storeTimeout)
		defer cancel()
		if err := w.e.st.SaveCheckpoint(sctx, w.smtp, w.checkpoint(w.e.clk.Now())); err != nil {
			return fmt.Errorf("engine: save checkpoint of %s: %w", w.smtp, err)
		}
	}
	return nil
}

// hintPending reports whether a notification hint waits to be collected.
func (w *worker) hintPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending&trigHint != 0
}

// scheduleReconcile plans the next periodic re-read, spread over the interval.
func (w *worker) scheduleReconcile(first bool) {
	iv := w.e.opts.ReconcileInterval
	if iv < 0 {
		w.nextReconcile = time.Time{}
		return
	}
	d := w.e.jitter(iv, 0.2)
	if first {
		d = w.e.jitter(iv, 1)
	}
	w.nextReconcile = w.e.clk.Now().Add(d)
}

// waitLive sleeps until a trigger or timer needs work.
func (w *worker) waitLive() error {
	now := w.e.clk.Now()
	next := time.Time{}
	for _, t := range []time.Time{w.coalesceUntil, w.nextReconcile, w.nextRoll, w.pullDue(), w.nextOOF} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !next.IsZero() && !next.After(now) {
		return w.due(now)
	}
	var timerC <-chan time.Time
	if !next.IsZero() {
		t := w.e.clk.NewTimer(next.Sub(now))
		defer t.Stop()
		timerC = t.C()
	}
	select {
	case <-w.ctx.Done():
		return nil
	case <-w.wake:
		return nil
	case <-timerC:
		return w.due(w.e.clk.Now())
	}
}

func (w *worker) pullDue() time.Time {
	if w.e.opts.Mode != Pull || w.sub.ID == "" {
		return time.Time{}
	}
	return w.nextPull
}

// due handles timers that have expired.
func (w *worker) due(now time.Time) error {
	if !w.nextReconcile.IsZero() && !now.Before(w.nextReconcile) {
		w.need |= needRead | needOOF
		w.readReason = "reconcile"
		w.scheduleReconcile(false)
	}
	if !w.nextRoll.IsZero() && !now.Before(w.nextRoll) {
		w.need |= needRead
		w.nextRoll = time.Time{}
		if w.readReason == "" {
			w.readReason = "roll"
		}
	}
	if !w.coalesceUntil.IsZero() && !now.Before(w.coalesceUntil) {
		w.need |= needRead
		if w.readReason == "" {
			w.readReason = "notification"
		}
	}
	if !w.nextOOF.IsZero() && !now.Before(w.nextOOF) {
		w.need |= needOOF
		w.nextOOF = time.Time{}
	}
	if d := w.pullDue(); !d.IsZero() && !now.Before(d) {
		return w.poll()
	}
	return nil
}
