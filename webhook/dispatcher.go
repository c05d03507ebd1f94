// Package webhook delivers calsync events (presence.changed, sync.health)
// to HTTP endpoints from the persistent outbox of the store.
//
// Enqueue writes one outbox message per subscribed endpoint and returns
// once they are durable; EnqueueBatch does the same for many events in one
// outbox transaction (a burst of presence changes). Run delivers them: per
// endpoint, messages with the same key (the user) go out one at a time in
// enqueue order; different keys go out in parallel. Each POST carries a JSON body, an HMAC-SHA256
// signature (see Sign and Verify) and the message id as idempotency id.
// Failures are retried with exponential back-off and jitter until a bound
// of attempts or age, then dead-lettered. DeadLetters lists the dead
// letters; RetryDeadLetter and RetryDeadLetters send them again under
// their original ids. Delivery is at-least-once: a crash between a
// receiver's 2xx and the outbox update repeats that one delivery with the
// same id. docs/store.md describes the guarantees.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// ErrUnknownEndpoint is returned (wrapped) when a dead letter is to be
// re-sent to an endpoint that is not configured on this dispatcher.
var ErrUnknownEndpoint = errors.New("webhook: endpoint not configured")

// Options configure a Dispatcher. Outbox and Endpoints are required.
type Options struct {
	Outbox    store.Outbox
	Endpoints []Endpoint
	// Client sends the requests; nil means a client that does not follow
	// redirects (a redirected POST would silently turn into a GET).
	Client *http.Client
	Clock  clock.Clock // nil means the wall clock
	Logger *slog.Logger
	// Registerer receives the webhook metrics; nil registers none.
	Registerer prometheus.Registerer
	// Rand returns jitter factors in [0, 1); nil means math/rand/v2.
	Rand func() float64

	// MinBackoff is the delay after the first failure (default 1s); it
	// doubles per failure up to MaxBackoff (default 10m). The actual delay
	// is drawn from [d/2, d).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxAttempts dead-letters a message after this many failed attempts
	// (default 20; about 2 days with the default back-off).
	MaxAttempts int
	// MaxAge dead-letters a message that fails when older than this
	// (default 48h; negative disables the age bound).
	MaxAge time.Duration
	// Concurrency is the number of parallel deliveries per endpoint, each
	// for a different key (default 4).
	Concurrency int
	// BatchSize is how many due messages one round fetches (default 100).
	BatchSize int
	// PollInterval re-reads the outbox when nothing is known to be due, to
	// notice messages enqueued by another process (default 1m).
	PollInterval time.Duration
}

// Dispatcher delivers outbox messages to webhook endpoints. Create it with
// New, call Run in a goroutine and Enqueue from anywhere.
type Dispatcher struct {
	opts      Options
	client    *http.Client
	clock     clock.Clock
	log       *slog.Logger
	metrics   *metrics
	failures  *failureLog
	endpoints map[string]*endpointState
	order     []*endpointState

	runMu   sync.Mutex
	running bool
}

type endpointState struct {
	Endpoint
	wake chan struct{}
}

// New checks the options and returns a Dispatcher.
func New(opts Options) (*Dispatcher, error) {
	if opts.Outbox == nil {
		return nil, errors.New("webhook: no outbox")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	defaults := []struct {
		d *time.Duration
		v time.Duration
	}{{&opts.MinBackoff, time.Second}, {&opts.MaxBackoff, 10 * time.Minute}, {&opts.MaxAge, 48 * time.Hour}, {&opts.PollInterval, time.Minute}}
	for _, x := range defaults {
		if *x.d == 0 {
			*x.d = x.v
		}
	}
	if opts.MaxBackoff < opts.MinBackoff {
		return nil, fmt.Errorf("webhook: max back-off %s below min back-off %s", opts.MaxBackoff, opts.MinBackoff)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 20
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("webhook: register metrics: %w", err)
	}
	d := &Dispatcher{opts: opts, client: opts.Client, clock: opts.Clock, log: opts.Logger, metrics: m,
		failures: newFailureLog(opts.Clock, opts.Logger), endpoints: map[string]*endpointState{}}
	for _, e := range opts.Endpoints {
		if err := e.validate(); err != nil {
			return nil, err
		}
		if d.endpoints[e.Name] != nil {
			return nil, fmt.Errorf("webhook: endpoint name %q used twice", e.Name)
		}
		if e.Timeout == 0 {
			e.Timeout = DefaultTimeout
		}
		st := &endpointState{Endpoint: e, wake: make(chan struct{}, 1)}
		d.endpoints[e.Name] = st
		d.order = append(d.order, st)
	}
	return d, nil
}

// Event is one event for EnqueueBatch.
type Event struct {
	// EventType selects the subscribed endpoints (e.g. EventPresenceChanged).
	EventType string
	// Key orders deliveries: the user's or mailbox's SMTP address.
	Key string
	// Payload is marshalled to JSON; []byte and json.RawMessage are taken
	// as JSON as they are.
	Payload any
}

// Enqueue stores one message per endpoint subscribed to eventType and
// returns their delivery ids once they are durable. key orders deliveries
// (use the user's or mailbox's SMTP address). payload is marshalled to
// JSON; []byte and json.RawMessage are taken as JSON as they are.
func (d *Dispatcher) Enqueue(ctx context.Context, eventType, key string, payload any) ([]string, error) {
	msgs, targets, err := d.messages([]Event{{EventType: eventType, Key: key, Payload: payload}})
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	ids, err := d.write(ctx, msgs, targets)
	if err != nil {
		return nil, fmt.Errorf("webhook: enqueue %s for %s: %w", eventType, key, err)
	}
	return ids, nil
}

// EnqueueBatch stores the messages of several events (one per event and
// subscribed endpoint) in one outbox transaction, so that a burst costs one
// durable write, and returns their delivery ids once they are durable: per
// event in order, per event the endpoints in configuration order. Messages
// with the same key keep their order in the batch. An invalid event (no
// type or key, payload not JSON) rejects the whole batch and stores nothing.
// Each endpoint's delivery loop is woken once.
func (d *Dispatcher) EnqueueBatch(ctx context.Context, events []Event) ([]string, error) {
	msgs, targets, err := d.messages(events)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	ids, err := d.write(ctx, msgs, targets)
	if err != nil {
		return nil, fmt.Errorf("webhook: enqueue %d events: %w", len(events), err)
	}
	return ids, nil
}

// messages builds the outbox messages of events, in order, and reports
// which endpoints (indexes into d.order) receive any.
func (d *Dispatcher) messages(events []Event) ([]store.OutboxMessage, []bool, error) {
	now := d.clock.Now()
	var msgs []store.OutboxMessage
	targets := make([]bool, len(d.order))
	for i, ev := range events {
		data, err := encodePayload(ev)
		if err != nil {
			if len(events) > 1 {
				err = fmt.Errorf("event %d: %w", i, err)
			}
			return nil, nil, err
		}
		for j, ep := range d.order {
			if ep.Subscribes(ev.EventType) {
				msgs = append(msgs, store.OutboxMessage{Endpoint: ep.Name, Key: ev.Key, EventType: ev.EventType, Payload: data, CreatedAt: now, NextAttempt: now})
				targets[j] = true
			}
		}
	}
	return msgs, targets, nil
}

// write stores msgs in one outbox transaction, wakes the targeted
// endpoints and returns the delivery ids.
func (d *Dispatcher) write(ctx context.Context, msgs []store.OutboxMessage, targets []bool) ([]string, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	stored, err := d.opts.Outbox.Enqueue(ctx, msgs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(stored))
	for i, m := range stored {
		ids[i] = m.ID
	}
	for j, ep := range d.order {
		if !targets[j] {
			continue
		}
		select {
		case ep.wake <- struct{}{}:
		default:
		}
	}
	return ids, nil
}

// encodePayload checks an event and returns its payload as JSON.
func encodePayload(ev Event) ([]byte, error) {
	if ev.EventType == "" || ev.Key == "" {
		return nil, errors.New("enqueue needs an event type and a key")
	}
	var data []byte
	switch p := ev.Payload.(type) {
	case []byte:
		data = p
	case json.RawMessage:
		data = p
	default:
		b, err := json.Marshal(ev.Payload)
		if err != nil {
			return nil, fmt.Errorf("encode %s payload: %w", ev.EventType, err)
		}
		data = b
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("%s payload is not valid JSON", ev.EventType)
	}
	return data, nil
}

// Run delivers messages until ctx is done, then waits for attempts in
// flight and returns nil. An attempt cut short by shutdown is not counted
// as failed; it is repeated on the next start.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.runMu.Lock()
	if d.running {
		d.runMu.Unlock()
		return errors.New("webhook: dispatcher already running")
	}
	d.running = true
	d.runMu.Unlock()
	defer func() {
		d.runMu.Lock()
		d.running = false
		d.runMu.Unlock()
	}()
	d.warnOrphans(ctx)
	var wg sync.WaitGroup
	for _, ep := range d.order {
		wg.Go(func() { d.runEndpoint(ctx, ep) })
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// runEndpoint is the loop of one endpoint: deliver what is due, then sleep
// until the earliest retry, an Enqueue, or the poll interval.
func (d *Dispatcher) runEndpoint(ctx context.Context, ep *endpointState) {
	for ctx.Err() == nil {
		n, err := d.deliverDue(ctx, ep)
		d.refreshGauges(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.log.Error("webhook: reading the outbox failed", "endpoint", ep.Name, "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		wait := d.opts.PollInterval
		if err != nil {
			wait = d.opts.MinBackoff
		} else if next, ok := d.nextAttempt(ctx, ep); ok {
			wait = min(wait, max(next.Sub(d.clock.Now()), 0))
		}
		timer := d.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-ep.wake:
			timer.Stop()
		case <-timer.C():
		}
	}
}

// deliverDue sends one round of due messages and reports how many it tried.
func (d *Dispatcher) deliverDue(ctx context.Context, ep *endpointState) (int, error) {
	msgs, err := d.opts.Outbox.Due(ctx, ep.Name, d.clock.Now(), d.opts.BatchSize)
	if err != nil {
		return 0, err
	}
	// Due returns at most one message per key, so parallel attempts never
	// reorder a key's messages.
	sem := make(chan struct{}, d.opts.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bookErr error
	for _, m := range msgs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := d.attempt(ctx, ep, m); err != nil {
				mu.Lock()
				bookErr = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(msgs), bookErr
}

// farFuture is later than any NextAttempt the dispatcher sets, and early
// enough for every database's timestamp type.
const farFuture = 100 * 365 * 24 * time.Hour

// nextAttempt finds the earliest NextAttempt among the endpoint's pending
// heads (Due with a far-future instant returns every key's head).
func (d *Dispatcher) nextAttempt(ctx context.Context, ep *endpointState) (time.Time, bool) {
	heads, err := d.opts.Outbox.Due(ctx, ep.Name, d.clock.Now().Add(farFuture), 0)
	if err != nil || len(heads) == 0 {
		return time.Time{}, false
	}
	next := heads[0].NextAttempt
	for _, m := range heads[1:] {
		if m.NextAttempt.Before(next) {
			next = m.NextAttempt
		}
	}
	return next, true
}

// attempt POSTs one message and records the outcome in the outbox. It
// returns an error only when the outbox could not be updated.
func (d *Dispatcher) attempt(ctx context.Context, ep *endpointState, m store.OutboxMessage) error {
	started := d.clock.Now()
	status, retryAfter, err := d.post(ctx, ep, m, started)
	d.metrics.duration.WithLabelValues(ep.Name).Observe(d.clock.Now().Sub(started).Seconds())
	if ctx.Err() != nil && err != nil {
		return nil // shutdown: the message stays pending and is retried on the next start
	}
	// Record the outcome even if shutdown begins now: a 2xx that is not
	// recorded would be delivered again.
	bookCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	log := d.log.With("endpoint", ep.Name, "delivery", m.ID, "event", m.EventType, "key", m.Key, "attempt", m.Attempts+1)
	if err == nil {
		if err := d.opts.Outbox.MarkDelivered(bookCtx, m.ID); err != nil {
			log.Error("webhook: delivered but the outbox update failed; it will be delivered again", "err", err)
			return err
		}
		d.metrics.deliveries.WithLabelValues(ep.Name, outcomeDelivered).Inc()
		log.Debug("webhook: delivered", "status", status)
		return nil
	}
	now := d.clock.Now()
	attempts := m.Attempts + 1
	dead, why := false, ""
	switch {
	case status == http.StatusGone:
		dead, why = true, "the receiver answered 410 Gone"
	case attempts >= d.opts.MaxAttempts:
		dead, why = true, fmt.Sprintf("%d attempts failed", attempts)
	case d.opts.MaxAge > 0 && now.Sub(ageBase(m)) >= d.opts.MaxAge:
		dead, why = true, fmt.Sprintf("undelivered after %s", now.Sub(ageBase(m)).Round(time.Second))
	}
	next := now.Add(max(d.backoff(attempts), retryAfter))
	if err := d.opts.Outbox.MarkFailed(bookCtx, m.ID, store.Failure{Error: err.Error(), At: now, Next: next, Dead: dead}); err != nil {
		log.Error("webhook: recording a failed attempt failed", "err", err)
		return err
	}
	about := []any{"delivery", m.ID, "event", m.EventType, "key", m.Key, "attempt", attempts, "err", err}
	if dead {
		d.metrics.deliveries.WithLabelValues(ep.Name, outcomeDead).Inc()
		d.failures.failed(ctx, failureKey{endpoint: ep.Name, cause: causeOf(status), dead: true}, append(about, "reason", why)...)
		return nil
	}
	d.metrics.deliveries.WithLabelValues(ep.Name, outcomeRetry).Inc()
	d.failures.failed(ctx, failureKey{endpoint: ep.Name, cause: causeOf(status)}, append(about, "retry_at", next)...)
	return nil
}

// ageBase is the instant the age bound counts from: the message's
// creation, or its last re-queue from the dead letters, which gives it a
// fresh MaxAge.
func ageBase(m store.OutboxMessage) time.Time {
	if m.RequeuedAt.After(m.CreatedAt) {
		return m.RequeuedAt
	}
	return m.CreatedAt
}

// backoff is the delay after the given number of failed attempts:
// MinBackoff doubled per failure, capped at MaxBackoff, drawn from [d/2, d).
func (d *Dispatcher) backoff(attempts int) time.Duration {
	base := d.opts.MinBackoff
	for i := 1; i < attempts && base < d.opts.MaxBackoff; i++ {
		base *= 2
	}
	base = min(base, d.opts.MaxBackoff)
	return base/2 + time.Duration(d.opts.Rand()*float64(base/2))
}

// body is the JSON document POSTed for a message. It is built from stored
// fields only, so every attempt sends the same bytes.
type body struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Key       string          `json:"key"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// EncodeBody returns the request body for a message.
func EncodeBody(m store.OutboxMessage) ([]byte, error) {
	data := m.Payload
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return json.Marshal(body{ID: m.ID, Type: m.EventType, Key: m.Key, CreatedAt: m.CreatedAt.UTC(), Data: data})
}

// post sends one attempt. It returns the HTTP status (0 without response),
// a Retry-After delay the receiver asked for, and an error unless 2xx.
func (d *Dispatcher) post(ctx context.Context, ep *endpointState, m store.OutboxMessage, now time.Time) (int, time.Duration, error) {
	payload, err := EncodeBody(m)
	if err != nil {
		return 0, 0, fmt.Errorf("encode body: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, ep.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(payload))
	if err != nil {
		return 0, 0, fmt.Errorf("build request for %s", redactURL(ep.URL))
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "calsync-webhook/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(ep.Secret, ts, payload))
	req.Header.Set(HeaderEvent, m.EventType)
	req.Header.Set(HeaderDelivery, m.ID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(m.Attempts+1))
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may carry credentials
		}
		return 0, 0, fmt.Errorf("POST %s: %w", redactURL(ep.URL), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	var retryAfter time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		retryAfter = min(time.Duration(secs)*time.Second, d.opts.MaxBackoff)
	}
	return resp.StatusCode, retryAfter, fmt.Errorf("POST %s: HTTP %d: %q", redactURL(ep.URL), resp.StatusCode, bytes.TrimSpace(snippet))
}

// warnOrphans logs pending messages of endpoints that are no longer
// configured: nobody delivers them until the endpoint comes back.
func (d *Dispatcher) warnOrphans(ctx context.Context) {
	stats, err := d.opts.Outbox.OutboxStats(ctx)
	if err != nil {
		d.log.Error("webhook: reading outbox statistics failed", "err", err)
		return
	}
	for name, c := range stats {
		if d.endpoints[name] == nil && c.Pending > 0 {
			d.log.Warn("webhook: outbox holds messages for an endpoint that is not configured; they wait until it is configured again",
				"endpoint", name, "pending", c.Pending)
		}
	}
}

// refreshGauges copies the outbox counters into the pending/dead gauges.
func (d *Dispatcher) refreshGauges(ctx context.Context) {
	stats, err := d.opts.Outbox.OutboxStats(ctx)
	if err != nil {
		return
	}
	for _, ep := range d.order {
		d.metrics.pending.WithLabelValues(ep.Name).Set(float64(stats[ep.Name].Pending))
		d.metrics.dead.WithLabelValues(ep.Name).Set(float64(stats[ep.Name].Dead))
	}
}
