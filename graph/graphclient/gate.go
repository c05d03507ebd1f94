package graphclient

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// gates keeps Outlook's per-mailbox limits on our side: at most n
// concurrent requests per mailbox, and none before a throttled mailbox's
// Retry-After has passed. Graph counts concurrency per app and mailbox (or
// per app; sources disagree), so a mailbox's calls queue here instead of
// collecting 429s.
type gates struct {
	n     int
	clock clock.Clock
	mu    sync.Mutex
	m     map[string]*gate
}

type gate struct {
	slots     chan struct{}
	notBefore time.Time
	users     int
}

func newGates(n int, c clock.Clock) *gates {
	return &gates{n: n, clock: c, m: make(map[string]*gate)}
}

// acquire waits until mailbox may be called and takes a slot; release
// gives it back. An empty mailbox is not gated.
func (g *gates) acquire(ctx context.Context, mailbox string) (release func(), err error) {
	if mailbox == "" {
		return func() {}, nil
	}
	key := strings.ToLower(mailbox)
	g.mu.Lock()
	gt := g.m[key]
	if gt == nil {
		gt = &gate{slots: make(chan struct{}, g.n)}
		g.m[key] = gt
	}
	gt.users++
	g.mu.Unlock()
	done := func() {
		g.mu.Lock()
		gt.users--
		if gt.users == 0 && !g.clock.Now().Before(gt.notBefore) {
			delete(g.m, key)
		}
		g.mu.Unlock()
	}
	for {
		g.mu.Lock()
		wait := gt.notBefore.Sub(g.clock.Now())
		g.mu.Unlock()
		if wait <= 0 {
			break
		}
		t := g.clock.NewTimer(wait)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			done()
			return nil, ctx.Err()
		}
	}
	select {
	case gt.slots <- struct{}{}:
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
	return func() { <-gt.slots; done() }, nil
}

// hold keeps mailbox's calls back for d (a Retry-After).
func (g *gates) hold(mailbox string, d time.Duration) {
	if mailbox == "" || d <= 0 {
		return
	}
	key := strings.ToLower(mailbox)
	g.mu.Lock()
	defer g.mu.Unlock()
	gt := g.m[key]
	if gt == nil {
		gt = &gate{slots: make(chan struct{}, g.n)}
		g.m[key] = gt
	}
	if until := g.clock.Now().Add(d); until.After(gt.notBefore) {
		gt.notBefore = until
	}
}
