package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/testenv"
)

// hookReceiver records the presence.changed webhooks per user.
type hookReceiver struct {
	mu     sync.Mutex
	byUser map[string][]api.PresenceChangedEvent
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var msg struct {
		Type string                   `json:"type"`
		Data api.PresenceChangedEvent `json:"data"`
	}
	if err := json.Unmarshal(b, &msg); err == nil && msg.Type == "presence.changed" {
		h.mu.Lock()
		h.byUser[msg.Data.User] = append(h.byUser[msg.Data.User], msg.Data)
		h.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) snapshot() map[string][]api.PresenceChangedEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string][]api.PresenceChangedEvent, len(h.byUser))
	for u, evs := range h.byUser {
		out[u] = append([]api.PresenceChangedEvent(nil), evs...)
	}
	return out
}

// TestFirstStartSendsOneWebhookPerUser: on a fresh store a webhook
// receiver gets each user's first real presence once — no interim
// "unknown" while the initial load runs.
func TestFirstStartSendsOneWebhookPerUser(t *testing.T) {
	const users = 5
	recv := &hookReceiver{byUser: map[string][]api.PresenceChangedEvent{}}
	hooks := httptest.NewServer(recv)
	t.Cleanup(hooks.Close)
	_, _, a := startAppWithConfig(t, config.Streaming, users, func(setup *appSetup) {
		setup.cfg.Webhooks = []config.Webhook{{Name: "pbx", URL: hooks.URL, Secret: config.NewSecret("0123456789abcdef", "test"),
			Events: []string{"presence.changed"}, Timeout: 5 * time.Second}}
	})
	testenv.WaitFor(t, "a webhook for every user and an empty outbox", func() bool {
		stats, err := a.Store().OutboxStats(context.Background())
		return err == nil && stats["pbx"].Pending == 0 && len(recv.snapshot()) == users
	})
	for user, evs := range recv.snapshot() {
		if len(evs) != 1 || evs[0].Current.Availability == "unknown" || evs[0].Previous != nil {
			t.Errorf("%s got %d webhooks %+v, want one with its first real presence", user, len(evs), evs)
		}
	}
}
