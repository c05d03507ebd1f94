package engine

import (
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// Exchange health states (ExchangeHealth.State).
const (
	ExchangeOK                  = "ok"
	ExchangeCredentialsRejected = "credentials_rejected"
	ExchangeUnreachable         = "unreachable"
	ExchangeThrottled           = "throttled"
)

// unreachableAfter is how many requests in a row must fail without any
// answer from Exchange (network error, timeout) before Exchange counts as
// unreachable; one slow mailbox is not an outage.
const unreachableAfter = 3

// ExchangeHealth is the state of Exchange as the whole engine sees it: a
// problem every mailbox shares (the service account's password, the
// network, a throttled front end) is one state here, not one error per
// mailbox.
type ExchangeHealth struct {
	// State is ok, credentials_rejected, unreachable or throttled (in
	// that order of precedence when several hold).
	State string
	// Since is when the state began (zero: since the start).
	Since time.Time
	// NextAttempt is when requests go again (credentials_rejected: the
	// next probe; throttled: the end of the pause); zero when not known.
	NextAttempt time.Time
	// LastError describes the error behind the state ("" when ok).
	LastError string
}

// Up reports whether Exchange answers calsync's requests (ok or throttled).
func (h ExchangeHealth) Up() bool { return h.State == ExchangeOK || h.State == ExchangeThrottled }

// exchangeHealth follows the conditions that concern all of Exchange. The
// credential gate and the budget report into it; Health combines them when
// asked, so nothing polls. Safe for concurrent use.
type exchangeHealth struct {
	clk clock.Clock

	mu sync.Mutex
	// credentials: rejected since, next probe, the error.
	credSince, credNext time.Time
	credErr             string
	// unreachable: requests in a row without an answer, since, the error.
	noAnswer      int
	noAnswerSince time.Time
	noAnswerErr   string
	// throttled: the global pause.
	throttleSince, throttleUntil time.Time
	throttleErr                  string
	// okSince is when the last condition ended.
	okSince time.Time
}

func newExchangeHealth(clk clock.Clock) *exchangeHealth { return &exchangeHealth{clk: clk} }

// credentialsRejected records a 401 that closed (or kept closed) the
// credential gate until next.
func (h *exchangeHealth) credentialsRejected(next time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.credSince.IsZero() {
		h.credSince = h.clk.Now()
	}
	h.credNext = next
	h.credErr = describe(err)
}

// outcome records one request's outcome: an answer from Exchange (success
// or an EWS error) ends the credential and unreachable conditions; a
// request without answer counts towards unreachable.
func (h *exchangeHealth) outcome(err error) {
	code := ErrorCode(err)
	answered := err == nil || strings.HasPrefix(code, "Error") || (strings.HasPrefix(code, "HTTP") && code != "HTTP401")
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clk.Now()
	switch {
	case answered:
		if !h.credSince.IsZero() || h.noAnswer >= unreachableAfter {
			h.okSince = now
		}
		h.credSince, h.credNext, h.credErr = time.Time{}, time.Time{}, ""
		h.noAnswer, h.noAnswerSince, h.noAnswerErr = 0, time.Time{}, ""
	case code == "NetworkError" || code == "Timeout":
		if h.noAnswer == 0 {
			h.noAnswerSince = now
		}
		h.noAnswer++
		h.noAnswerErr = describe(err)
	}
}

// throttled records a pause of all traffic until until.
func (h *exchangeHealth) throttled(until time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clk.Now()
	if !now.Before(h.throttleUntil) {
		h.throttleSince = now
	}
	if until.After(h.throttleUntil) {
		h.throttleUntil = until
	}
	h.throttleErr = describe(err)
}

// health combines the conditions into one state.
func (h *exchangeHealth) health() ExchangeHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clk.Now()
	switch {
	case !h.credSince.IsZero():
		return ExchangeHealth{State: ExchangeCredentialsRejected, Since: h.credSince, NextAttempt: h.credNext, LastError: h.credErr}
	case h.noAnswer >= unreachableAfter:
		return ExchangeHealth{State: ExchangeUnreachable, Since: h.noAnswerSince, LastError: h.noAnswerErr}
	case now.Before(h.throttleUntil):
		return ExchangeHealth{State: ExchangeThrottled, Since: h.throttleSince, NextAttempt: h.throttleUntil, LastError: h.throttleErr}
	}
	since := h.okSince
	if !h.throttleUntil.IsZero() && h.throttleUntil.After(since) {
		since = h.throttleUntil
	}
	return ExchangeHealth{State: ExchangeOK, Since: since}
}

// describe is an error's code and message for an operator.
func describe(err error) string {
	if err == nil {
		return ""
	}
	return ErrorCode(err) + ": " + Describe(err)
}
