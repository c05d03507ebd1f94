package engine

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
)

// exchangeDefaultMaxConcurrency is EWSMaxConcurrency of Exchange's default
// throttling policy (2013 and later, Exchange Online): the requests one
// service account may have in flight. The adaptive limiter never goes
// above it, whatever it measures.
const exchangeDefaultMaxConcurrency = 27

// Tuning of the adaptive limiter (see docs/engine.md, "Budget").
const (
	// adaptiveStart is the first limit: low enough that a busy Exchange
	// sees a gentle start, high enough that a healthy one is found within
	// a few round trips.
	adaptiveStart = 4
	// latencyTolerance: a round trip this many times the observed minimum
	// means requests queue somewhere; the limit stops rising and shrinks.
	latencyTolerance = 2.0
	// latencySlack is added to the tolerated round trip so that the
	// jitter of sub-millisecond answers (a LAN, the simulator) does not
	// read as queueing.
	latencySlack = 5 * time.Millisecond
	// latencyDecrease and throttleDecrease are the multiplicative
	// decreases on queueing and on a throttling signal.
	latencyDecrease  = 0.9
	throttleDecrease = 0.5
	// minRTTWindow: the observed minimum is forgotten this often, so that
	// a server that has become slower for good (more mailboxes, another
	// site) is measured again rather than read as queueing forever.
	minRTTWindow = time.Minute
	// smoothing is the weight of a new round trip in the moving average
	// that is compared with the minimum (one slow answer is not a trend).
	smoothing = 0.1
	// starvedFloor is the lowest limit rising round trips alone may cut
	// to while this process waits for a CPU (budget_adaptive_lag.go) and
	// Exchange has sent no throttling signal for minRTTWindow: the limit
	// the engine starts with against an Exchange it knows nothing about.
	starvedFloor = adaptiveStart
	// starvedLag: goroutines waking this late on average mean the host's
	// CPUs are overcommitted (an idle host wakes them within a fraction
	// of a millisecond). Below a quarter of the minimum round trip the lag
	// is too small to explain a round trip above the tolerance.
	starvedLag = time.Millisecond
)

// adaptiveLimit computes the overall concurrency limit from what Exchange
// answers, in the spirit of TCP Vegas: while round trips stay near their
// observed minimum the limit rises by about one per round trip of a full
// window (additive increase); when they rise, or Exchange signals
// throttling, it shrinks multiplicatively, at most once per round trip so
// that the answers to requests sent before the decrease do not shrink it
// again. It is pure arithmetic on the times it is given: safe for
// concurrent use, no timers.
type adaptiveLimit struct {
	mu      sync.Mutex
	ceiling float64
	limit   float64
	minRTT  time.Duration // observed minimum in the current window
	minAt   time.Time     // when the current window began
	prevMin time.Duration // minimum of the previous window
	avgRTT  time.Duration // moving average
	holdTil time.Time     // no further decrease before this instant
	// lastThrottle is the last throttling signal (zero: none yet).
	lastThrottle time.Time
	// localLag returns this process's recent scheduling delay, ok false
	// while not yet measured (lagProbe.recent; nil: latency alone
	// decides).
	localLag func() (lag time.Duration, ok bool)
}

// newAdaptiveLimit returns a limiter bounded by ceiling and by
// exchangeDefaultMaxConcurrency.
func newAdaptiveLimit(ceiling int) *adaptiveLimit {
	c := float64(min(max(ceiling, 1), exchangeDefaultMaxConcurrency))
	return &adaptiveLimit{ceiling: c, limit: min(adaptiveStart, c)}
}

// current is the limit to apply, at least 1.
func (a *adaptiveLimit) current() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.limit)
}

// success records a request answered after rtt while inflight requests
// (itself included) were out, and returns the new limit.
func (a *adaptiveLimit) success(now time.Time, rtt time.Duration, inflight int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.minAt) >= minRTTWindow {
		a.prevMin, a.minRTT, a.minAt = a.minRTT, 0, now
	}
	if a.minRTT == 0 || rtt < a.minRTT {
		a.minRTT = rtt
	}
	if a.avgRTT == 0 {
		a.avgRTT = rtt
	} else {
		a.avgRTT += time.Duration(smoothing * float64(rtt-a.avgRTT))
	}
	floor := a.minRTT
	if a.prevMin > 0 && a.prevMin < floor {
		floor = a.prevMin // a fresh window has few samples yet
	}
	tolerated := time.Duration(latencyTolerance*float64(floor)) + latencySlack
	switch {
	case a.avgRTT > tolerated:
		starved, known := a.starvedLocked(now, floor)
		switch {
		case !known:
			// The probe has just started: the next answers decide.
		case starved:
			a.decreaseLocked(now, latencyDecrease, min(a.limit, starvedFloor))
		default:
			a.decreaseLocked(now, latencyDecrease, 1)
		}
	case float64(inflight) >= a.limit/2:
		// Rise only while the limit is used: a mostly idle engine learns
		// nothing about what Exchange could take (Netflix's limiter has
		// the same rule), and an unused high limit would let a burst go
		// out all at once later.
		a.limit = min(a.ceiling, a.limit+1/a.limit)
	}
	return int(a.limit)
}

// throttled records a throttling signal (ErrorServerBusy, HTTP 503,
// ErrorExceededConnectionCount, a timeout) and returns the new limit.
func (a *adaptiveLimit) throttled(now time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastThrottle = now
	a.decreaseLocked(now, throttleDecrease, 1)
	return int(a.limit)
}

// starvedLocked reports whether round trips above the tolerance are
// explained by this process waiting for a CPU rather than by Exchange:
// no throttling signal within minRTTWindow, and goroutines waking late by
// at least starvedLag and a quarter of the minimum round trip. Exchange
// protects itself with ErrorServerBusy and 503, which still cut to 1; what
// the floor stops is a host's CPU starvation read as Exchange queueing.
// known is false while the lag is not measured yet (the probe starts on
// the first question).
func (a *adaptiveLimit) starvedLocked(now time.Time, minRTT time.Duration) (starved, known bool) {
	if a.localLag == nil {
		return false, true
	}
	if !a.lastThrottle.IsZero() && now.Sub(a.lastThrottle) < minRTTWindow {
		return false, true
	}
	lag, ok := a.localLag()
	if !ok {
		return false, false
	}
	return lag >= max(starvedLag, minRTT/4), true
}

func (a *adaptiveLimit) decreaseLocked(now time.Time, factor, lowest float64) {
	if now.Before(a.holdTil) {
		return
	}
	a.limit = max(lowest, math.Floor(a.limit*factor))
	// Answers to requests sent before the decrease carry no news about
	// it; wait one round trip (at least the tolerated slack) for them.
	a.holdTil = now.Add(max(a.avgRTT, latencySlack))
	// Queueing measured now inflates the average; start it afresh from
	// the minimum so that one decrease is judged on new answers.
	a.avgRTT = a.minRTT
}

// adapt feeds the outcome of one request, answered after rtt while
// inflight requests were out, to the adaptive limiter and applies the new
// limit. The pauses of a throttling error are after's business; this only
// sizes the window.
func (b *budget) adapt(err error, rtt time.Duration, inflight int) {
	now := b.clk.Now()
	var limit int
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// No answer within CallTimeout: the strongest sign of overload.
		limit = b.adaptive.throttled(now)
	case err == nil:
		limit = b.adaptive.success(now, rtt, inflight)
	default:
		switch c := classify(err).act; {
		case c == actLessParallel, c == actThrottled && ErrorCode(err) != "ApplicationThrottled":
			// ErrorServerBusy, HTTP 503 (or 429), ErrorExceededConnectionCount.
			// Graph's per-mailbox 429 says nothing about the service as a
			// whole: that mailbox's pause is enough.
			limit = b.adaptive.throttled(now)
		case c == actStop:
			return
		default:
			// Any other answer (ErrorItemNotFound, …) still measured the
			// round trip.
			limit = b.adaptive.success(now, rtt, inflight)
		}
	}
	if limit != b.global.getLimit() {
		b.global.setLimit(limit)
		b.metrics.budgetLimit.Set(float64(limit))
	}
}
