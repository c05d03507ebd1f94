package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestAffinityCookieRefreshedAfterFailover: after a failover (every
// subscription lost, the group now lives on another server) the anchor's
// new Subscribe goes without the old cookie, and the members subscribe
// with the new cookie its answer carried, not the one of the dead server.
func TestAffinityCookieRefreshedAfterFailover(t *testing.T) {
	fx := newFakeExchange()
	names := []string{"a@example.org", "b@example.org", "c@example.org"}
	h := start(t, fx, memstore.New(), names, nil)
	for _, n := range names {
		h.waitState(n, StateLive)
	}
	testenv.WaitFor(t, "one stream with all three subscriptions", func() bool {
		return slices.ContainsFunc(fx.openStreams(), func(s *fakeStream) bool { return len(s.ids) == 3 })
	})
	fx.mu.Lock()
	fx.cookie = "be2.example.org~2"
	before := len(fx.targets)
	fx.mu.Unlock()
	fx.restart()
	testenv.WaitFor(t, "all three resubscribed", func() bool {
		fx.mu.Lock()
		defer fx.mu.Unlock()
		return len(fx.targets) >= before+3
	})
	fx.mu.Lock()
	after := slices.Clone(fx.targets[before:])
	fx.mu.Unlock()
	for _, tg := range after {
		switch {
		case tg.SMTP == tg.Anchor && tg.Cookie != "":
			t.Errorf("anchor %s resubscribed with cookie %q, want none (its answer names the new server)", tg.SMTP, tg.Cookie)
		case tg.SMTP != tg.Anchor && tg.Cookie != "be2.example.org~2":
			t.Errorf("member %s resubscribed with cookie %q, want the new server's be2.example.org~2", tg.SMTP, tg.Cookie)
		}
	}
}

// TestHangingOpenStreamIsRetried: a GetStreamingEvents request that the
// server accepts and never answers is given up after CallTimeout and
// opened again; the members do not stay without notifications.
func TestHangingOpenStreamIsRetried(t *testing.T) {
	fx := newFakeExchange()
	fx.openHang.Store(1)
	h := start(t, fx, memstore.New(), []string{"a@example.org"}, func(o *Options) { o.CallTimeout = 300 * time.Millisecond })
	h.waitState("a@example.org", StateLive)
	testenv.WaitFor(t, "a stream open after the hanging attempt", func() bool {
		return len(fx.openStreams()) == 1 && fx.count("OpenStream") >= 2
	})
}

// TestStreamBackoffRestartsAfterAnAliveConnection: the reconnect back-off
// counts the failures since the connection last proved alive, so cuts
// hours apart each start from the first step instead of growing.
func TestStreamBackoffRestartsAfterAnAliveConnection(t *testing.T) {
	if got := streamFailures(3, true); got != 1 {
		t.Errorf("streamFailures(3, alive) = %d, want 1 (a cut after a healthy connection is a first failure)", got)
	}
	if got := streamFailures(3, false); got != 4 {
		t.Errorf("streamFailures(3, not alive) = %d, want 4 (a connection that never answered keeps backing off)", got)
	}
}
