package ewsexchange_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestCleanStreamingStartAsMicrosoftDescribes: each group subscribes its
// anchor first and its members with the anchor's X-BackEndOverrideCookie,
// so a clean start over the wire opens every streaming connection once:
// no ErrorProxyRequestNotAllowed, no reconnect, no connection opened twice
// in the simulator's counters.
func TestCleanStreamingStartAsMicrosoftDescribes(t *testing.T) {
	// The Subscribes after the first 41 wait until every group streams
	// its full connections (8 ids each) and holds the rest back: a regroup
	// then certainly ran while members were still subscribing. 41 = no
	// sum of multiples of 8, so some group has ids held back.
	held := &heldSubscribes{free: 41, released: make(chan struct{})}
	x, _, ex := newHTTPSimBehind(t, 60, 3, held.wrap)
	t.Cleanup(held.release) // before the server's close (cleanups run last first)
	mbs := users(x)
	reg := prometheus.NewRegistry()
	r := startEngine(t, ex, memstore.New(), engine.Streaming, mbs, func(o *engine.Options) {
		o.Registerer = reg
		o.GroupSize = 8 // several connections per group
		// Partial connections wait for the members still subscribing up
		// to 60 × RegroupDelay: the helper's 20 ms (1.2 s) and 250 ms
		// (15 s) were both shorter than a start under -race on a loaded
		// 2-core machine.
		o.RegroupDelay = time.Second
	})
	testenv.WaitFor(t, "full connections open, the rest held back while Subscribes wait", func() bool {
		if !held.holding() {
			return false
		}
		streamedAll := 0
		for _, g := range r.e.Groups() {
			streamed := 0
			for _, c := range g.Connections {
				if c.State != "open" {
					return false
				}
				streamed += c.Subscriptions
			}
			if streamed != g.Subscriptions/8*8 {
				return false
			}
			streamedAll += streamed
		}
		return streamedAll > 0
	})
	held.release()
	waitAllLive(t, r.e, len(mbs), 30*time.Second)
	testenv.WaitFor(t, "every subscription on an open streaming connection", func() bool {
		streamed := 0
		for _, g := range r.e.Groups() {
			for _, c := range g.Connections {
				if c.State != "open" {
					return false
				}
				streamed += c.Subscriptions
			}
		}
		return streamed == len(mbs)
	})
	var conns int
	for _, g := range r.e.Groups() {
		for _, c := range g.Connections {
			conns++
			if c.Reconnects != 0 || c.LastError != "" {
				t.Errorf("connection %s: %d reconnects, last error %q; want none on a clean start", c.Name, c.Reconnects, c.LastError)
			}
		}
	}
	if n := x.Stats().StreamingConnectionsEver; n != int64(conns) {
		t.Errorf("simulator opened %d streaming connections for %d connections, want each opened once", n, conns)
	}
	for _, code := range []string{"ErrorProxyRequestNotAllowed", "ErrorSubscriptionNotFound"} {
		if n := errorCount(t, reg, code); n != 0 {
			t.Errorf("calsync_engine_errors_total{code=%q} = %v, want 0", code, n)
		}
	}
}

// errorCount reads calsync_engine_errors_total for one code.
func errorCount(t *testing.T, reg *prometheus.Registry, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "calsync_engine_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// heldSubscribes passes the first free Subscribe requests to the server and
// holds the later ones until release.
type heldSubscribes struct {
	free     int
	released chan struct{}
	once     sync.Once
	mu       sync.Mutex
	seen     int
	passing  int // free Subscribes not yet answered
}

// subscribeOp matches an m:Subscribe request body (not Unsubscribe).
var subscribeOp = regexp.MustCompile(`<(\w+:)?Subscribe[\s>]`)

func (h *heldSubscribes) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !subscribeOp.Match(body) {
			next.ServeHTTP(w, r)
			return
		}
		h.mu.Lock()
		h.seen++
		hold := h.seen > h.free
		if !hold {
			h.passing++
		}
		h.mu.Unlock()
		if hold {
			select {
			case <-h.released:
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
		if !hold {
			h.mu.Lock()
			h.passing--
			h.mu.Unlock()
		}
	})
}

// holding says Subscribes are held and every free one has its answer.
func (h *heldSubscribes) holding() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen > h.free && h.passing == 0
}

func (h *heldSubscribes) release() { h.once.Do(func() { close(h.released) }) }
