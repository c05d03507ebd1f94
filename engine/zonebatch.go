package engine

// A mailbox's first load needs its time zone before its first window read
// (status texts and the window's midnights are in the user's zone from the
// first status on; a status rendered in the default zone and corrected an
// hour later is issue 11's defect). OWA.UserOptions, the user's chosen
// zone, has no batch form: one GetUserConfiguration per mailbox was a third
// of the first load's requests. The working hours that GetUserAvailability
// returns carry each mailbox's zone, for up to 100 mailboxes per request,
// so the first load asks them in batches here; the reconciliation reads
// OWA.UserOptions per mailbox as before (worker_zone.go) and corrects a
// working-hours zone that differs from the chosen one.
//
// Every worker whose first load needs a zone joins the queue when it starts
// (before Autodiscover and Subscribe, which do not need the zone), so at a
// start the queue fills at once and batches go out full. It waits for its
// answer only before its first read. A batch leaves when it holds
// maxZoneBatch mailboxes, when no mailbox joined for DiscoverBatchDelay, or
// when its first mailbox has waited zoneGatherLimit delays: the wait is
// bounded. What the batch cannot answer for a mailbox (an error of the
// whole request or of that mailbox, no working hours, a zone that matches
// no IANA zone) the worker reads alone, the way every first load did
// before.

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// ZoneBatchReader is implemented by an Exchange that can read the time
// zones of many mailboxes in one request (engine/ewsexchange: the working
// hours of GetUserAvailability). It is optional; without it every first
// load reads its zone alone (ZoneReader).
type ZoneBatchReader interface {
	// MailboxTimeZones returns one result per mailbox, in order. The error
	// is for the whole call; a mailbox's own error is in its result.
	MailboxTimeZones(ctx context.Context, smtps []string) ([]ZoneResult, error)
}

// ZoneResult is one mailbox's zone as a batch read found it.
type ZoneResult struct {
	SMTP string
	// Zone is an IANA zone name; "" when the answer names no usable zone
	// (the mailbox's worker then reads its zone alone).
	Zone string
	Err  error
}

const (
	// maxZoneBatch is Microsoft's limit of mailboxes per
	// GetUserAvailability request (ews.MaxAvailabilityMailboxes; more →
	// ErrorMailboxDataArrayTooBig).
	maxZoneBatch = 100
	// zoneGatherLimit bounds a batch's gathering to this many
	// DiscoverBatchDelays after its first mailbox joined (1 s at the
	// default), however steadily others keep joining.
	zoneGatherLimit = 20
	// zoneBatchesInFlight lets a start's batches overlap without taking
	// every slot of the budget's first limit (4) from Autodiscover and
	// Subscribe.
	zoneBatchesInFlight = 2
)

// zoneAnswer is a batch's answer for one mailbox; ok=false: read it alone.
type zoneAnswer struct {
	zone string
	ok   bool
}

// zoneBatcher gathers the first loads' zone reads into batches. Safe for
// concurrent use.
type zoneBatcher struct {
	e    *Engine
	r    ZoneBatchReader
	wake chan struct{}
	sem  chan struct{}

	mu    sync.Mutex
	order []zoneQueued // mailboxes in the order they joined
	// waiting are the callers of the mailboxes not yet sent, by mailbox.
	// A batch takes its mailboxes' callers along when it is sent: a
	// mailbox asked later joins a later batch, since the batch's answer
	// may predate what made the caller ask (a successor worker after
	// Remove and Add).
	waiting map[string][]chan zoneAnswer
	joined  time.Time // when the last mailbox joined
	limit   int       // mailboxes per request
	off     bool      // the server does not answer: everyone reads alone
	// sameAsDefault: does a matched zone have the default zone's offsets?
	sameAsDefault map[string]bool
}

// zoneQueued is a mailbox waiting for its batch, and since when.
type zoneQueued struct {
	smtp string
	at   time.Time
}

// newZoneBatcher returns nil when the Exchange cannot read zones in
// batches.
func newZoneBatcher(e *Engine) *zoneBatcher {
	r, ok := e.ex.(ZoneBatchReader)
	if !ok {
		return nil
	}
	return &zoneBatcher{e: e, r: r, wake: make(chan struct{}, 1), sem: make(chan struct{}, zoneBatchesInFlight),
		waiting: map[string][]chan zoneAnswer{}, limit: maxZoneBatch, sameAsDefault: map[string]bool{}}
}

// ask queues smtp for the next batch and returns where its answer will
// arrive (buffered: an answer nobody takes is dropped with the channel).
// A batcher that gave up answers "read it alone" at once.
func (b *zoneBatcher) ask(smtp string) <-chan zoneAnswer {
	ch := make(chan zoneAnswer, 1)
	b.mu.Lock()
	if b.off {
		b.mu.Unlock()
		ch <- zoneAnswer{}
		return ch
	}
	now := b.e.clk.Now()
	if len(b.waiting[smtp]) == 0 {
		b.order = append(b.order, zoneQueued{smtp: smtp, at: now})
	}
	b.waiting[smtp] = append(b.waiting[smtp], ch)
	b.joined = now
	b.mu.Unlock()
	b.poke()
	return ch
}

func (b *zoneBatcher) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run serves batches until ctx ends.
func (b *zoneBatcher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		}
		for {
			flush, ok := b.gather(ctx)
			if !ok {
				return
			}
			batch, callers := b.take(flush)
			if len(batch) == 0 {
				break
			}
			select {
			case b.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if !b.e.spawn("zone batch", func() {
				defer func() { <-b.sem }()
				b.serve(ctx, batch, callers)
			}) {
				return
			}
		}
	}
}

// gather waits until a batch is full (flush=false) or the queue's rest is
// due (flush=true): no mailbox joined for one DiscoverBatchDelay, or the
// oldest has waited zoneGatherLimit of them. ok is false when ctx ends.
func (b *zoneBatcher) gather(ctx context.Context) (flush, ok bool) {
	delay := b.e.opts.DiscoverBatchDelay
	for {
		b.mu.Lock()
		n := len(b.order)
		var oldest time.Time
		if n > 0 {
			oldest = b.order[0].at
		}
		quietAt := b.joined.Add(delay)
		full := n >= b.limit
		b.mu.Unlock()
		if full {
			return false, true
		}
		now := b.e.clk.Now()
		deadline := oldest.Add(zoneGatherLimit * delay)
		if n == 0 || delay <= 0 || !now.Before(quietAt) || !now.Before(deadline) {
			return true, ctx.Err() == nil
		}
		wait := quietAt.Sub(now)
		if deadline.Before(quietAt) {
			wait = deadline.Sub(now)
		}
		t := b.e.clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, false
		case <-t.C():
		case <-b.wake:
		}
		t.Stop()
	}
}

// take removes the next batch from the queue: a full one, or with flush
// whatever is queued (up to the limit). Its mailboxes' callers leave
// b.waiting with it (callers[i] are batch[i]'s).
func (b *zoneBatcher) take(flush bool) (batch []string, callers [][]chan zoneAnswer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !flush && len(b.order) < b.limit {
		return nil, nil
	}
	n := min(len(b.order), b.limit)
	batch = make([]string, n)
	callers = make([][]chan zoneAnswer, n)
	for i, q := range b.order[:n] {
		batch[i] = q.smtp
		callers[i] = b.waiting[q.smtp]
		delete(b.waiting, q.smtp)
	}
	b.order = b.order[n:]
	return batch, callers
}

// serve reads one batch and answers its mailboxes' callers.
func (b *zoneBatcher) serve(ctx context.Context, batch []string, callers [][]chan zoneAnswer) {
	var results []ZoneResult
	// The batch's round trip is the work for many mailboxes, not queueing
	// (budget_batch.go).
	err := b.e.call(withoutLatencySample(ctx), batch[0], "", func(ctx context.Context) (err error) {
		// A panic (a hostile or broken answer) fails this batch like any
		// error: its workers read their zones alone.
		defer func() {
			if r := recover(); r != nil {
				b.e.log.Error("reading time zones panicked; the batch's mailboxes read theirs alone", "mailboxes", len(batch), "panic", r, "stack", string(debug.Stack()))
				err = fmt.Errorf("engine: internal error reading time zones: %v", r)
			}
		}()
		results, err = b.r.MailboxTimeZones(ctx, batch)
		return err
	})
	if err == nil && len(results) != len(batch) {
		err = fmt.Errorf("engine: %d time zones for %d mailboxes", len(results), len(batch))
	}
	if err != nil {
		b.failed(ctx, batch, callers, err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range batch {
		r := results[i]
		if r.Err != nil {
			b.e.metrics.errors.WithLabelValues(ErrorCode(r.Err)).Inc()
		}
		answerZone(callers[i], zoneAnswer{zone: b.nameLocked(r.Zone), ok: r.Err == nil && r.Zone != ""})
	}
}

// nameLocked names a working-hours zone. Working hours carry offsets and
// rules, no place: the zone matched to them is the first of the Windows
// zones with the same offsets (Berlin's read as Europe/Budapest, Tokyo's as
// Asia/Seoul). Where the instance's default zone agrees with it at every
// hour of this year and the next, the default's name is taken instead: in
// the common case (users where the instance is) the status then names the
// right place before the reconciliation's OWA.UserOptions does.
func (b *zoneBatcher) nameLocked(zone string) string {
	def := b.e.opts.Window.DefaultTimeZone
	if zone == "" || def == nil || zone == def.String() {
		return zone
	}
	same, ok := b.sameAsDefault[zone]
	if !ok {
		loc, err := loadLocation(zone)
		same = err == nil && sameOffsets(loc, def, b.e.clk.Now().Year())
		b.sameAsDefault[zone] = same
	}
	if same {
		return def.String()
	}
	return zone
}

// sameOffsets reports whether a and b have the same UTC offset at every
// hour of year and the next.
func sameOffsets(a, b *time.Location, year int) bool {
	end := time.Date(year+2, 1, 1, 0, 0, 0, 0, time.UTC)
	for t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); t.Before(end); t = t.Add(time.Hour) {
		_, x := t.In(a).Zone()
		_, y := t.In(b).Zone()
		if x != y {
			return false
		}
	}
	return true
}

// failed handles a batch whose request failed as a whole. A server that
// does not answer the operation turns batching off (later first loads read
// alone at once); a server that allows fewer mailboxes per request gets
// the batch again, halved; otherwise the batch's mailboxes read their
// zones alone — under throttling or an outage that is what each first
// load did before, with its own error handling.
func (b *zoneBatcher) failed(ctx context.Context, batch []string, callers [][]chan zoneAnswer, err error) {
	if ctx.Err() != nil {
		return // the engine stops; so do the workers waiting
	}
	code := ErrorCode(err)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch code {
	case "ErrorInvalidOperation", "ErrorInvalidRequest":
		if !b.off {
			b.e.log.Warn("Exchange does not answer GetUserAvailability; every first load reads its mailbox's time zone alone", "code", code, "err", Describe(err))
		}
		b.off = true
		for _, q := range b.order {
			answerZone(b.waiting[q.smtp], zoneAnswer{})
			delete(b.waiting, q.smtp)
		}
		b.order = nil
	case "ErrorMailboxDataArrayTooBig":
		if len(batch) > 1 {
			b.limit = max(len(batch)/2, 1)
			b.e.log.Info("Exchange refused the number of mailboxes per time-zone read; asking fewer", "mailboxes", len(batch), "now", b.limit)
			// The callers asked before this batch was sent, so any later
			// answer is fresh enough for them. A mailbox asked again
			// meanwhile is queued already: its callers join that place.
			now := b.e.clk.Now()
			again := make([]zoneQueued, 0, len(batch)+len(b.order))
			for i, smtp := range batch {
				if len(b.waiting[smtp]) == 0 {
					again = append(again, zoneQueued{smtp: smtp, at: now})
				}
				b.waiting[smtp] = append(callers[i], b.waiting[smtp]...)
			}
			b.order = append(again, b.order...)
			b.poke()
			return
		}
	default:
		b.e.log.Info("reading time zones in a batch failed; its mailboxes read theirs alone", "mailboxes", len(batch), "code", code, "err", Describe(err))
	}
	for _, cs := range callers {
		answerZone(cs, zoneAnswer{})
	}
}

// answerZone hands a mailbox's answer to its callers (each channel buffered,
// one answer each).
func answerZone(callers []chan zoneAnswer, a zoneAnswer) {
	for _, ch := range callers {
		ch <- a
	}
}
