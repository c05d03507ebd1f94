package engine

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// credentialPauseMax caps the credential gate's pause, which starts at
// BudgetConfig.CredentialPause and doubles after each rejected probe.
const credentialPauseMax = 15 * time.Minute

// credentialGate stops all EWS traffic once Exchange rejects the service
// account's credentials (HTTP 401). Every request carries the same
// account, so the rejection concerns all of them; letting hundreds of
// mailbox workers retry on their own would be hundreds of failed logons a
// minute, and Active Directory locks an account out after a handful.
//
// The gate starts unverified: the first request is a probe and the others
// wait for its outcome, so a wrong password costs one failed logon at
// start, not one per worker. After a rejection all requests wait a pause,
// then exactly one request probes. A probe that gets any answer from EWS
// opens the gate; a rejected probe doubles the pause. Safe for concurrent
// use.
type credentialGate struct {
	clk   clock.Clock
	log   *slog.Logger
	pause time.Duration // first pause after a rejection
	// health hears of every outcome and rejection (Engine.ExchangeHealth).
	health *exchangeHealth

	mu       sync.Mutex
	verified bool          // EWS answered since the last rejection
	failures int           // consecutive rejections
	until    time.Time     // no request before this instant
	probing  bool          // a probe is in flight
	changed  chan struct{} // closed and replaced on every change of state
}

func newCredentialGate(clk clock.Clock, log *slog.Logger, pause time.Duration) *credentialGate {
	return &credentialGate{clk: clk, log: log, pause: pause, health: newExchangeHealth(clk), changed: make(chan struct{})}
}

// closed reports whether requests wait for a probe after a rejection, and
// until when at least.
func (g *credentialGate) closed() (bool, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.verified && g.failures > 0, g.until
}

// wait returns when a request may go: at once while the gate is open, as
// the probe (at start, or after the pause), or when a probe opened the
// gate. probe tells the caller that it is the probe.
func (g *credentialGate) wait(ctx context.Context) (probe bool, err error) {
	for {
		g.mu.Lock()
		if g.verified {
			g.mu.Unlock()
			return false, nil
		}
		now := g.clk.Now()
		ch := g.changed
		if !now.Before(g.until) && !g.probing {
			g.probing = true
			g.mu.Unlock()
			return true, nil
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if now.Before(g.until) {
			timer = g.clk.NewTimer(g.until.Sub(now))
			fire = timer.C()
		}
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return false, ctx.Err()
		case <-ch:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// report records a request's outcome. A 401 closes the gate (or extends
// the pause after a rejected probe); an answer from EWS proves the
// credentials good and reopens it; a network error of the probe lets the
// next request probe.
func (g *credentialGate) report(err error, probe bool) {
	code := ErrorCode(err)
	if !errors.Is(err, errNotSent) && !errors.Is(err, context.Canceled) {
		g.health.outcome(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case code == "HTTP401":
		// Only the rejection that closes the gate and rejected probes count:
		// the 401s of requests that were already in flight when the gate
		// closed (up to Budget.Concurrency of them, plus streams) must not
		// double the pause each, or one burst would stop all traffic for
		// credentialPauseMax.
		straggler := !probe && !g.verified && g.failures > 0
		if !straggler {
			g.failures++
		}
		pause := min(g.pause<<min(g.failures-1, 16), credentialPauseMax)
		if until := g.clk.Now().Add(pause); until.After(g.until) {
			g.until = until
		}
		g.verified = false
		g.health.credentialsRejected(g.until, err)
		if !straggler {
			g.probing = false
			g.log.Error("Exchange rejected the service account's credentials (HTTP 401); all EWS requests wait, then one request tries again, so that the account is not locked out",
				"rejections", g.failures, "retry_in", pause.String())
		}
		g.broadcastLocked()
	case err == nil || strings.HasPrefix(code, "Error"):
		// EWS answered: the logon succeeded.
		if !g.verified {
			if g.failures > 0 {
				g.log.Info("Exchange accepts the service account's credentials again; EWS requests resume", "after_rejections", g.failures)
			}
			g.verified, g.failures, g.probing = true, 0, false
			g.broadcastLocked()
		}
	case probe:
		g.probing = false
		g.broadcastLocked()
	}
}

// rejections reports the consecutive rejections since EWS last answered.
func (g *credentialGate) rejections() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failures
}

func (g *credentialGate) broadcastLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}
