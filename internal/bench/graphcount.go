package bench

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// graphCounter is the engine's Graph transport in the Graph bench: it
// counts every request by operation and per mailbox, the 429s, and each
// mailbox's peak of concurrent requests, to hold them against Graph's
// per-app-and-mailbox limits (graph-facts §5: 10,000 requests per ten
// minutes, 4 concurrent). Counting on the client side sees what the
// engine sends, whatever the simulator's own counters report.
type graphCounter struct {
	next http.RoundTripper

	mu        sync.Mutex
	ops       map[string]int64
	throttled map[string]int64
	boxes     map[string]*boxCount
}

// boxCount is one mailbox's requests: their start times and concurrency.
type boxCount struct {
	times             []time.Time
	inFlight, maxConc int
}

func newGraphCounter(next http.RoundTripper) *graphCounter {
	return &graphCounter{next: next, ops: map[string]int64{}, throttled: map[string]int64{}, boxes: map[string]*boxCount{}}
}

func (g *graphCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	op, box := graphOperation(r.Method, r.URL.Path)
	g.mu.Lock()
	g.ops[op]++
	var b *boxCount
	if box != "" {
		b = g.boxes[box]
		if b == nil {
			b = &boxCount{}
			g.boxes[box] = b
		}
		b.times = append(b.times, time.Now())
		b.inFlight++
		b.maxConc = max(b.maxConc, b.inFlight)
	}
	g.mu.Unlock()
	resp, err := g.next.RoundTrip(r)
	g.mu.Lock()
	if b != nil {
		b.inFlight--
	}
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		g.throttled[op]++
	}
	g.mu.Unlock()
	return resp, err
}

// graphOperation names a request by its method and path with the mailbox
// left out ("GET users/{id}/calendarView/delta") and returns the mailbox
// ("" for the token endpoint, $batch and subscriptions).
func graphOperation(method, path string) (op, mailbox string) {
	p := strings.TrimPrefix(path, "/v1.0/")
	if strings.HasSuffix(p, "/oauth2/v2.0/token") {
		return method + " token", ""
	}
	if rest, ok := strings.CutPrefix(p, "users/"); ok {
		mailbox, tail, _ := strings.Cut(rest, "/")
		// Ids of events and subscriptions would make every request its
		// own operation: keep the first word after the mailbox.
		word, _, _ := strings.Cut(tail, "/")
		if strings.HasPrefix(tail, "calendarView/delta") {
			word = "calendarView/delta"
		}
		return method + " users/{id}/" + word, strings.ToLower(mailbox)
	}
	word, _, _ := strings.Cut(p, "/")
	return method + " " + word, ""
}

// graphCounts is a snapshot of a graphCounter.
type graphCounts struct {
	Requests, Throttled map[string]int64
	Total               int64
	// MaxPer10Min is the most requests one mailbox sent within any ten
	// minutes; MaxConcurrent its most at once; Mailboxes how many
	// mailboxes were asked about.
	MaxPer10Min, MaxConcurrent, Mailboxes int
}

func (g *graphCounter) snapshot() graphCounts {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := graphCounts{Requests: map[string]int64{}, Throttled: map[string]int64{}, Mailboxes: len(g.boxes)}
	for k, v := range g.ops {
		c.Requests[k] = v
		c.Total += v
	}
	for k, v := range g.throttled {
		c.Throttled[k] = v
	}
	for _, b := range g.boxes {
		c.MaxConcurrent = max(c.MaxConcurrent, b.maxConc)
		c.MaxPer10Min = max(c.MaxPer10Min, maxInWindow(b.times, 10*time.Minute))
	}
	return c
}

// maxInWindow is the most of ts (in order of arrival) within any span w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}
