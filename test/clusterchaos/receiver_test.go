package clusterchaos

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/webhook"
)

// receiver is the test's webhook endpoint. It records every arrival
// (before answering: a delivery whose sender dies before the answer
// arrived counts as received once, and its retry again) and can hold
// answers back, so that a delivery is in flight when its sender is killed.
type receiver struct {
	mu       sync.Mutex
	body     map[string]string // delivery id -> first body
	arrivals map[string]int
	order    []string // delivery ids by first arrival
	problems []string
	held     chan struct{} // non-nil: requests wait until it is closed
	arrived  chan string   // ids that arrived while held
}

func newReceiver() *receiver {
	return &receiver{body: map[string]string{}, arrivals: map[string]int{}, arrived: make(chan string, 1000)}
}

func (h *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the sender went away mid-request
	}
	id := r.Header.Get(webhook.HeaderDelivery)
	h.mu.Lock()
	if prev, ok := h.body[id]; ok && prev != string(body) {
		h.problems = append(h.problems, fmt.Sprintf("delivery %s repeated with another body:\n%s\n%s", id, prev, body))
	}
	if _, ok := h.body[id]; !ok {
		h.body[id] = string(body)
		h.order = append(h.order, id)
	}
	h.arrivals[id]++
	held := h.held
	h.mu.Unlock()
	if held != nil {
		select {
		case h.arrived <- id:
		default:
		}
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// hold makes requests wait until the returned release is called.
func (h *receiver) hold() (release func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	h.held = ch
	h.mu.Unlock()
	for len(h.arrived) > 0 { // forget earlier arrivals
		<-h.arrived
	}
	return func() {
		h.mu.Lock()
		h.held = nil
		h.mu.Unlock()
		close(ch)
	}
}

func (h *receiver) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.arrivals[id]
}

// presenceEvent is one presence.changed webhook as received.
type presenceEvent struct {
	id   string
	prev string // previous presence ("" when none)
	cur  string
}

// presenceState is what a presence shows, for comparing published
// states: availability, profile and status text. Not its until: a
// meeting booked later in a free afternoon moves the end of "available"
// without a change anyone sees, and without a webhook.
func presenceState(p *api.PresenceDTO) string {
	if p == nil {
		return ""
	}
	return p.Availability + "|" + p.Profile + "|" + p.StatusText
}

// presenceByUser returns each user's presence.changed webhooks in the
// order they first arrived.
func (h *receiver) presenceByUser() map[string][]presenceEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]presenceEvent{}
	for _, id := range h.order {
		var ev struct {
			Type string                   `json:"type"`
			Key  string                   `json:"key"`
			Data api.PresenceChangedEvent `json:"data"`
		}
		if json.Unmarshal([]byte(h.body[id]), &ev) != nil || ev.Type != webhook.EventPresenceChanged {
			continue
		}
		out[ev.Key] = append(out[ev.Key], presenceEvent{id: id, prev: presenceState(ev.Data.Previous), cur: presenceState(&ev.Data.Current)})
	}
	return out
}

func (h *receiver) received() map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]bool, len(h.body))
	for id := range h.body {
		out[id] = true
	}
	return out
}
