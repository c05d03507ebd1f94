package api

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/events"
)

// Event types of the stream and of webhooks (the event log's names).
const (
	// EventPresenceChanged carries a PresenceChangedEvent.
	EventPresenceChanged = events.PresenceChanged
	// EventSyncHealth carries a SyncStatusDTO when a mailbox's health changes.
	EventSyncHealth = events.SyncHealth
	// EventStreamReset tells a resuming client that events it missed are no
	// longer buffered: it must reload its state from the REST API.
	EventStreamReset = events.StreamReset
)

// EventStream is the event log the API serves at /api/v1/events;
// *events.Log satisfies it. The API only reads it: producers publish to
// the log directly.
type EventStream interface {
	Subscribe(from events.From) (*events.Subscription, error)
	// LastID is the resume point handed out with the user list.
	LastID() uint64
}

var _ EventStream = (*events.Log)(nil)

// maxUserFilter bounds the users one stream may filter on.
const maxUserFilter = 1000

// handleEvents streams the event log as text/event-stream (501 without one). The resume point is the
// Last-Event-ID header or, for a first connection that already loaded state
// from the REST API, the last_event_id query parameter. Repeated user
// parameters limit the stream to events about those users.
func (s *server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if s.opts.Events == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "the event stream is not available on this instance")
		return
	}
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
	sub, err := s.opts.Events.Subscribe(events.From{Resume: resume, After: lastID, Users: users})
	if errors.Is(err, events.ErrClosed) {
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the event stream is shutting down")
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the event stream is not available: "+err.Error())
		return
	}
	defer sub.Close()

	rc := http.NewResponseController(w)
	// A client that stopped reading blocks this goroutine in Write. When
	// the event log drops it (its queue filled up) or the request ends, a write
	// deadline in the past makes that Write fail at once, so the handler
	// returns and the connection closes. No clock is needed for that.
	handlerDone := make(chan struct{})
	defer close(handlerDone)
	go func() {
		select {
		case <-sub.Done():
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
	if sub.Reset {
		writeEvent(bw, events.Event{ID: sub.Current, Type: EventStreamReset, Data: []byte(`{"reason":"missed events are no longer buffered; reload the state"}`)})
	}
	for _, ev := range sub.Replay {
		writeEvent(bw, ev)
	}
	if err := flush(); err != nil {
		return
	}
	heartbeat := s.opts.Clock.NewTimer(s.opts.EventHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.Done():
			return
		case <-heartbeat.C():
			fmt.Fprintf(bw, ": heartbeat\n\n")
			heartbeat.Reset(s.opts.EventHeartbeat)
		case ev := <-sub.Events():
			writeEvent(bw, ev)
			// Send what else is queued in the same write.
			for n := len(sub.Events()); n > 0; n-- {
				writeEvent(bw, <-sub.Events())
			}
		}
		if err := flush(); err != nil {
			return
		}
	}
}

// writeEvent writes one event; Data is single-line JSON.
func writeEvent(w *bufio.Writer, ev events.Event) {
	fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, ev.Data)
}
