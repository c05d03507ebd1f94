package graphserver

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// throttler enforces Outlook's limits per app and mailbox (graph-facts
// §5): requests per ten minutes and concurrent requests. There is one app
// per server, so the key is the mailbox.
type throttler struct {
	perTenMin   int // < 0: unlimited
	concurrency int // < 0: unlimited

	mu    sync.Mutex
	boxes map[string]*mailboxBudget
}

// mailboxBudget is a token bucket holding up to perTenMin requests,
// refilled evenly over ten minutes, and the requests in flight.
type mailboxBudget struct {
	tokens   float64
	last     time.Time
	inFlight int
}

const tenMinutes = 10 * time.Minute

func newThrottler(perTenMin, concurrency int) *throttler {
	return &throttler{perTenMin: perTenMin, concurrency: concurrency, boxes: map[string]*mailboxBudget{}}
}

// admit charges one request to mailbox at now; it returns a release
// function, or a 429 with the time until the next request would pass.
func (t *throttler) admit(mailbox string, now time.Time) (func(), *apiError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.boxes[mailbox]
	if b == nil {
		b = &mailboxBudget{tokens: float64(t.perTenMin), last: now}
		t.boxes[mailbox] = b
	}
	if t.concurrency >= 0 && b.inFlight >= t.concurrency {
		return nil, throttled("ApplicationThrottled", "Application is over its MailboxConcurrency limit.", 0.5)
	}
	if t.perTenMin >= 0 {
		rate := float64(t.perTenMin) / tenMinutes.Seconds()
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = min(float64(t.perTenMin), b.tokens+el*rate)
		}
		b.last = now
		if b.tokens < 1 {
			wait := 1.0
			if rate > 0 {
				wait = (1 - b.tokens) / rate
			}
			return nil, throttled("ApplicationThrottled", "Application is over its MailboxRequests limit.", wait)
		}
		b.tokens--
	}
	b.inFlight++
	return func() {
		t.mu.Lock()
		b.inFlight--
		t.mu.Unlock()
	}, nil
}

// throttled is a 429 with a (possibly fractional) Retry-After in seconds.
func throttled(code, message string, seconds float64) *apiError {
	e := errorf(http.StatusTooManyRequests, code, "%s", message)
	e.retryAfter = formatSeconds(seconds)
	return e
}

// formatSeconds writes a Retry-After value: whole seconds as integers,
// fractions with up to three decimals (Graph sends both, e.g. 2.128).
func formatSeconds(s float64) string {
	s = math.Ceil(s*1000) / 1000
	if s <= 0 {
		s = 0.001
	}
	if s == float64(int64(s)) {
		return strconv.FormatInt(int64(s), 10)
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}
