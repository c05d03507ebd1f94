package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/testenv"
)

// healthReceiver records the webhook deliveries it receives as
// "type key state" strings, in arrival order.
type healthReceiver struct {
	mu  sync.Mutex
	got []string
}

func (h *healthReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var b struct {
		Type string
		Key  string
		Data struct{ State string }
	}
	_ = json.Unmarshal(raw, &b)
	h.mu.Lock()
	h.got = append(h.got, b.Type+" "+b.Key+" "+b.Data.State)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *healthReceiver) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// TestSyncHealthReachesWebhooksWithoutPolling: the engine's status reports
// travel engine.Sink → event log → webhook outbox → receiver. A mailbox
// the service account may not impersonate arrives as sync.health denied, a
// healthy one as sync.health live; the steps of their first sync do not.
func TestSyncHealthReachesWebhooksWithoutPolling(t *testing.T) {
	rcv := &healthReceiver{}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	startAppWithConfig(t, config.Streaming, 3, func(setup *appSetup) {
		if err := setup.sim.SetImpersonationScope(setup.sim.ServiceAccount(), []string{"user1@example.com", "user2@example.com"}); err != nil {
			t.Fatal(err)
		}
		setup.cfg.Webhooks = []config.Webhook{{Name: "crm", URL: srv.URL, Events: []string{"sync.health"},
			Secret: config.NewSecret("0123456789abcdef", "test"), Timeout: 5 * time.Second}}
	})
	testenv.WaitFor(t, "sync.health for user3 denied and user1 live", func() bool {
		got := rcv.received()
		return slices.Contains(got, "sync.health user3@example.com denied") && slices.Contains(got, "sync.health user1@example.com live")
	})
	for _, got := range rcv.received() {
		switch got {
		case "sync.health user1@example.com queued", "sync.health user1@example.com discovering", "sync.health user1@example.com subscribing", "sync.health user1@example.com loading":
			t.Errorf("a step of user1's first sync reached the webhook: %q (all: %q)", got, rcv.received())
		}
	}
}
