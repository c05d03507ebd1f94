package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/webhook"
)

// Event types of the stream and of webhooks.
const (
	// EventPresenceChanged carries a PresenceChangedEvent.
	EventPresenceChanged = "presence.changed"
	// EventSyncHealth carries a SyncStatusDTO when a mailbox's health changes.
	EventSyncHealth = "sync.health"
	// EventStreamReset tells a resuming client that events it missed are no
	// longer buffered: it must reload its state from the REST API.
	EventStreamReset = "stream.reset"
)

// WebhookSink receives the events the hub publishes for webhooks;
// *webhook.Dispatcher satisfies it. key orders deliveries (the user's SMTP
// address); payload is passed as json.RawMessage. It returns the delivery
// ids once the messages are durable.
type WebhookSink interface {
	Enqueue(ctx context.Context, eventType, key string, payload any) ([]string, error)
}

// BatchWebhookSink is a WebhookSink that also stores many events with one
// durable write; *webhook.Dispatcher satisfies it. PublishPresenceBatch
// uses EnqueueBatch when HubOptions.Webhooks implements it, and one
// Enqueue per change otherwise.
type BatchWebhookSink interface {
	WebhookSink
	EnqueueBatch(ctx context.Context, events []webhook.Event) ([]string, error)
}

var _ BatchWebhookSink = (*webhook.Dispatcher)(nil)

// HubOptions configures NewHub; zero values take the defaults.
type HubOptions struct {
	// History is how many events the ring buffer keeps for resumption
	// (default 16384: a transition of every one of 10,000 users at the top
	// of the hour stays resumable).
	History int
	// ClientBuffer is each client's queue length; a client whose queue is
	// full is disconnected and resumes with Last-Event-ID (default 1024).
	ClientBuffer int
	// Heartbeat is the interval of comment lines that keep proxies from
	// closing idle streams (default 15s).
	Heartbeat time.Duration
	// Webhooks, when set, receives every presence.changed and sync.health
	// event published through PublishPresence and PublishSyncHealth.
	Webhooks   WebhookSink
	Clock      clock.Clock
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Event is one published event as kept in the ring buffer.
type Event struct {
	ID   uint64
	Type string
	// Key is the user the event is about; empty for events for everyone.
	Key  string
	Data []byte
}

// Hub fans events out to Server-Sent Events clients. Ids increase by one
// per event; the first id is derived from the hub's start time, so ids of a
// restarted process are larger than the previous process's and a client
// resuming across a restart is told to reload. Safe for concurrent use.
type Hub struct {
	opts HubOptions

	mu      sync.Mutex
	ring    []Event // circular, len == History
	head    int     // index of the oldest event
	count   int
	lastID  uint64
	clients map[*hubClient]struct{}
	closed  bool
	done    chan struct{}

	clientsGauge prometheus.Gauge
	published    *prometheus.CounterVec
	dropped      prometheus.Counter
	resets       prometheus.Counter
}

type hubClient struct {
	// users limits the client to events about these users; nil means all.
	users  map[string]bool
	events chan Event
	// gone is closed when the hub drops the client (slow) or closes.
	gone chan struct{}
}

// NewHub returns a hub. It returns an error only if metrics cannot be registered.
func NewHub(opts HubOptions) (*Hub, error) {
	if opts.History <= 0 {
		opts.History = 16384
	}
	if opts.ClientBuffer <= 0 {
		opts.ClientBuffer = 1024
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Hub{
		opts:    opts,
		ring:    make([]Event, opts.History),
		clients: map[*hubClient]struct{}{},
		done:    make(chan struct{}),
		clientsGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "calsync_sse_clients",
			Help: "Clients connected to the event stream.",
		}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calsync_sse_events_published_total",
			Help: "Events published on the event stream, by type.",
		}, []string{"type"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calsync_sse_clients_dropped_total",
			Help: "Event-stream clients disconnected because they did not keep up.",
		}),
		resets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calsync_sse_resets_total",
			Help: "Resuming clients told to reload because their Last-Event-ID was no longer buffered.",
		}),
	}
	if now := opts.Clock.Now().UnixMicro(); now > 0 {
		h.lastID = uint64(now)
	}
	if err := registerAll(opts.Registerer, h.clientsGauge, h.published, h.dropped, h.resets); err != nil {
		return nil, err
	}
	return h, nil
}

// LastID returns the id of the last published event (or the id before the
// first event when none was published yet).
func (h *Hub) LastID() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastID
}

// Clients returns the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Publish marshals payload to JSON and sends it to every client under a new
// id, which it returns. Clients whose queue is full are disconnected.
func (h *Hub) Publish(eventType string, payload any) (uint64, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("api: encoding %s event: %w", eventType, err)
	}
	return h.publishRaw(eventType, "", data)
}

func (h *Hub) publishRaw(eventType, key string, data []byte) (uint64, error) {
	if err := checkEventType(eventType); err != nil {
		return 0, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, errors.New("api: event hub is closed")
	}
	return h.publishLocked(eventType, key, data), nil
}

func checkEventType(eventType string) error {
	if eventType == "" || strings.ContainsAny(eventType, " \t\r\n:") {
		return fmt.Errorf("api: event type %q must be a non-empty token without spaces or colons", eventType)
	}
	return nil
}

// publishLocked buffers one event under a new id and queues it for every
// interested client; h.mu is held and the hub is open.
func (h *Hub) publishLocked(eventType, key string, data []byte) uint64 {
	h.lastID++
	ev := Event{ID: h.lastID, Type: eventType, Key: key, Data: data}
	if h.count < len(h.ring) {
		h.ring[(h.head+h.count)%len(h.ring)] = ev
		h.count++
	} else {
		h.ring[h.head] = ev
		h.head = (h.head + 1) % len(h.ring)
	}
	for c := range h.clients {
		if !c.wants(ev) {
			continue
		}
		select {
		case c.events <- ev:
		default:
			h.dropLocked(c)
			h.dropped.Inc()
			h.opts.Logger.Info("api: dropped a slow event-stream client", "queue", cap(c.events))
		}
	}
	h.published.WithLabelValues(eventType).Inc()
	return ev.ID
}

// PublishPresence publishes a presence.changed event and enqueues it for
// webhooks. The stream event is published even when the webhook enqueue
// fails; that error is returned.
func (h *Hub) PublishPresence(ctx context.Context, c presence.Change) error {
	return h.publishWithWebhook(ctx, EventPresenceChanged, c.User, ToPresenceChangedEvent(c))
}

// PublishPresenceBatch publishes the presence.changed events of several
// changes (a burst at the top of the hour), in order. Their webhook
// messages are enqueued first with one durable write when the sink is a
// BatchWebhookSink (one Enqueue per change otherwise); then the stream
// events go out under consecutive ids. As with PublishPresence, the stream
// events are published even when the webhook enqueue fails; that error is
// returned.
func (h *Hub) PublishPresenceBatch(ctx context.Context, changes []presence.Change) error {
	if len(changes) == 0 {
		return nil
	}
	datas := make([][]byte, len(changes))
	var errs []error
	for i, c := range changes {
		data, err := json.Marshal(ToPresenceChangedEvent(c))
		if err != nil {
			errs = append(errs, fmt.Errorf("api: encoding %s event for %s: %w", EventPresenceChanged, c.User, err))
			continue
		}
		datas[i] = data
	}
	errs = append(errs, h.enqueuePresenceWebhooks(ctx, changes, datas)...)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.Join(append(errs, errors.New("api: event hub is closed"))...)
	}
	for i, c := range changes {
		if datas[i] != nil {
			h.publishLocked(EventPresenceChanged, c.User, datas[i])
		}
	}
	return errors.Join(errs...)
}

// enqueuePresenceWebhooks enqueues the encoded changes (nil data: skipped)
// for webhooks, in one batch if the sink supports it.
func (h *Hub) enqueuePresenceWebhooks(ctx context.Context, changes []presence.Change, datas [][]byte) []error {
	sink := h.opts.Webhooks
	if sink == nil {
		return nil
	}
	if batch, ok := sink.(BatchWebhookSink); ok {
		events := make([]webhook.Event, 0, len(changes))
		for i, c := range changes {
			if datas[i] != nil {
				events = append(events, webhook.Event{EventType: EventPresenceChanged, Key: c.User, Payload: json.RawMessage(datas[i])})
			}
		}
		if _, err := batch.EnqueueBatch(ctx, events); err != nil {
			return []error{fmt.Errorf("api: enqueueing %d %s webhooks: %w", len(events), EventPresenceChanged, err)}
		}
		return nil
	}
	var errs []error
	for i, c := range changes {
		if datas[i] == nil {
			continue
		}
		if _, err := sink.Enqueue(ctx, EventPresenceChanged, c.User, json.RawMessage(datas[i])); err != nil {
			errs = append(errs, fmt.Errorf("api: enqueueing %s webhook for %s: %w", EventPresenceChanged, c.User, err))
		}
	}
	return errs
}

// PublishSyncHealth publishes a sync.health event for a mailbox whose
// health changed and enqueues it for webhooks.
func (h *Hub) PublishSyncHealth(ctx context.Context, st store.MailboxStatus) error {
	return h.publishWithWebhook(ctx, EventSyncHealth, st.SMTP, ToSyncStatusDTO(st))
}

func (h *Hub) publishWithWebhook(ctx context.Context, eventType, key string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("api: encoding %s event: %w", eventType, err)
	}
	var hookErr error
	if h.opts.Webhooks != nil {
		if _, err := h.opts.Webhooks.Enqueue(ctx, eventType, key, json.RawMessage(data)); err != nil {
			hookErr = fmt.Errorf("api: enqueueing %s webhook for %s: %w", eventType, key, err)
		}
	}
	if _, err := h.publishRaw(eventType, key, data); err != nil {
		return errors.Join(hookErr, err)
	}
	return hookErr
}

// Close disconnects every client; later publications fail.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done)
	for c := range h.clients {
		h.dropLocked(c)
	}
}

func (h *Hub) dropLocked(c *hubClient) {
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	close(c.gone)
	h.clientsGauge.Dec()
}

// subscribe registers a client and returns the buffered events it missed
// after lastID. reset is true when those events are no longer buffered (or
// lastID is from another process): the client must reload. The snapshot and
// the registration happen under one lock, so nothing is missed or doubled.
func (h *Hub) subscribe(lastID uint64, resume bool, users map[string]bool) (c *hubClient, replay []Event, reset bool, current uint64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, false, 0, errors.New("api: event hub is closed")
	}
	current = h.lastID
	c = &hubClient{users: users, events: make(chan Event, h.opts.ClientBuffer), gone: make(chan struct{})}
	if resume && lastID != h.lastID {
		oldest := h.lastID + 1
		if h.count > 0 {
			oldest = h.ring[h.head].ID
		}
		if lastID > h.lastID || lastID+1 < oldest {
			reset = true
		} else {
			for i := 0; i < h.count; i++ {
				ev := h.ring[(h.head+i)%len(h.ring)]
				if ev.ID > lastID && c.wants(ev) {
					replay = append(replay, ev)
				}
			}
		}
	}
	h.clients[c] = struct{}{}
	h.clientsGauge.Inc()
	return c, replay, reset, current, nil
}

func (h *Hub) unsubscribe(c *hubClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(c)
}

// wants reports whether the client subscribed to events like ev.
func (c *hubClient) wants(ev Event) bool {
	return c.users == nil || ev.Key == "" || c.users[ev.Key]
}

// maxUserFilter bounds the users one stream may filter on.
const maxUserFilter = 1000

// ServeHTTP streams events as text/event-stream. The resume point is the
// Last-Event-ID header or, for a first connection that already loaded state
// from the REST API, the last_event_id query parameter. Repeated user
// parameters limit the stream to events about those users.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var users map[string]bool
	if list := r.URL.Query()["user"]; len(list) > 0 {
		if len(list) > maxUserFilter {
			writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("at most %d user parameters", maxUserFilter))
			return
		}
		users = make(map[string]bool, len(list))
		for _, u := range list {
			users[strings.ToLower(strings.TrimSpace(u))] = true
		}
	}
	lastText, lastFrom := r.Header.Get("Last-Event-ID"), "the Last-Event-ID header"
	if lastText == "" {
		lastText, lastFrom = r.URL.Query().Get("last_event_id"), "the last_event_id parameter"
	}
	var lastID uint64
	resume := lastText != ""
	if resume {
		var err error
		if lastID, err = strconv.ParseUint(lastText, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s must be an event id (a decimal number), got %q", lastFrom, lastText))
			return
		}
	}
	c, replay, reset, current, err := h.subscribe(lastID, resume, users)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the event stream is shutting down")
		return
	}
	defer h.unsubscribe(c)

	rc := http.NewResponseController(w)
	// A client that stopped reading blocks this goroutine in Write. When
	// the hub drops it (its queue filled up) or the request ends, a write
	// deadline in the past makes that Write fail at once, so the handler
	// returns and the connection closes. No clock is needed for that.
	handlerDone := make(chan struct{})
	defer close(handlerDone)
	go func() {
		select {
		case <-c.gone:
		case <-r.Context().Done():
		case <-handlerDone:
			return
		}
		_ = rc.SetWriteDeadline(time.Unix(1, 0))
	}()
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	fmt.Fprintf(bw, "retry: 3000\n: calsync event stream\n\n")
	if reset {
		h.resets.Inc()
		writeEvent(bw, Event{ID: current, Type: EventStreamReset, Data: []byte(`{"reason":"missed events are no longer buffered; reload the state"}`)})
	}
	for _, ev := range replay {
		writeEvent(bw, ev)
	}
	if err := flush(); err != nil {
		return
	}
	heartbeat := h.opts.Clock.NewTimer(h.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.gone:
			return
		case <-heartbeat.C():
			fmt.Fprintf(bw, ": heartbeat\n\n")
			heartbeat.Reset(h.opts.Heartbeat)
		case ev := <-c.events:
			writeEvent(bw, ev)
			// Send what else is queued in the same write.
			for n := len(c.events); n > 0; n-- {
				writeEvent(bw, <-c.events)
			}
		}
		if err := flush(); err != nil {
			return
		}
	}
}

// writeEvent writes one event; Data is single-line JSON.
func writeEvent(w *bufio.Writer, ev Event) {
	fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, ev.Data)
}

// handleEvents serves the hub, or 501 when no hub is configured.
func (s *server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if s.opts.Events == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "the event stream is not available on this instance")
		return
	}
	s.opts.Events.ServeHTTP(w, r)
}
