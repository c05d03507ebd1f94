package graphserver

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Faults are conditions a test or the simulator's control API switches on
// to see how a client copes. They act on Graph requests only; the token
// endpoint stays healthy.
type Faults struct {
	// ThrottlePercent answers that share of mailbox requests with 429
	// TooManyRequests and a fractional Retry-After.
	ThrottlePercent int
	// UnavailablePercent answers that share with 503 serviceNotAvailable
	// and a Retry-After.
	UnavailablePercent int
	// Latency is added to every Graph request.
	Latency time.Duration
}

type faultState struct {
	mu           sync.Mutex
	f            Faults
	counter      int64
	unauthorized int
}

// SetFaults replaces the fault conditions (the zero Faults clears them).
func (s *Server) SetFaults(f Faults) error {
	if f.ThrottlePercent < 0 || f.ThrottlePercent > 100 || f.UnavailablePercent < 0 || f.UnavailablePercent > 100 {
		return fmt.Errorf("graphserver: fault percentages must be within 0..100 (throttle %d, unavailable %d)", f.ThrottlePercent, f.UnavailablePercent)
	}
	if f.Latency < 0 {
		return fmt.Errorf("graphserver: fault latency %s is negative", f.Latency)
	}
	s.faults.mu.Lock()
	s.faults.f = f
	s.faults.mu.Unlock()
	return nil
}

// FailNextRequests answers the next n Graph requests with 401
// InvalidAuthenticationToken, as after a token was revoked.
func (s *Server) FailNextRequests(n int) {
	s.faults.mu.Lock()
	s.faults.unauthorized += n
	s.faults.mu.Unlock()
}

// RevokeTokens makes every issued access token invalid (clients must ask
// the token endpoint again), as a key rollover or an expiry would.
func (s *Server) RevokeTokens() { s.tokens.rotate() }

func (f *faultState) takeUnauthorized() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unauthorized > 0 {
		f.unauthorized--
		return true
	}
	return false
}

// draw decides, deterministically spread, whether this request meets a
// throttling or unavailability fault, and returns the latency to add.
func (f *faultState) draw() (*apiError, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counter++
	hit := func(p int) bool { return p > 0 && (f.counter*int64(p))%100 < int64(p) }
	switch {
	case hit(f.f.ThrottlePercent):
		return throttled("TooManyRequests", "Please retry again later.", 2.128), f.f.Latency
	case hit(f.f.UnavailablePercent):
		e := errorf(http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please retry again later.")
		e.retryAfter = "3"
		return e, f.f.Latency
	}
	return nil, f.f.Latency
}
