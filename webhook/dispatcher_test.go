package webhook

import (
	"context"
	"fmt"
	"github.com/calsync/calsync/internal/testenv"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func endpoint(name, url string, events ...string) Endpoint {
	return Endpoint{Name: name, URL: url, Secret: testSecret, Events: events}
}

func TestNewRejectsBadOptions(t *testing.T) {
	ob := memstore.New()
	good := endpoint("a", "https://hooks.example.com/calsync")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no outbox", Options{Endpoints: []Endpoint{good}}, "no outbox"},
		{"no name", Options{Outbox: ob, Endpoints: []Endpoint{{URL: good.URL, Secret: "x"}}}, "without name"},
		{"relative URL", Options{Outbox: ob, Endpoints: []Endpoint{{Name: "a", URL: "/hook", Secret: "x"}}}, "not an absolute"},
		{"ftp URL", Options{Outbox: ob, Endpoints: []Endpoint{{Name: "a", URL: "ftp://x/y", Secret: "x"}}}, "not an absolute"},
		{"no secret", Options{Outbox: ob, Endpoints: []Endpoint{{Name: "a", URL: good.URL}}}, "no secret"},
		{"duplicate name", Options{Outbox: ob, Endpoints: []Endpoint{good, good}}, "used twice"},
		{"inverted back-off", Options{Outbox: ob, Endpoints: []Endpoint{good}, MinBackoff: time.Minute, MaxBackoff: time.Second}, "back-off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestEnqueueFansOutToSubscribedEndpoints(t *testing.T) {
	ob := memstore.New()
	d, err := New(Options{Outbox: ob, Clock: clock.NewFake(t0), Endpoints: []Endpoint{
		endpoint("presence-only", "https://a.example.com/", EventPresenceChanged),
		endpoint("everything", "https://b.example.com/"),
		endpoint("health-only", "https://c.example.com/", EventSyncHealth),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]string{"availability": "busy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("ids = %v, want two distinct", ids)
	}
	for name, want := range map[string]int{"presence-only": 1, "everything": 1, "health-only": 0} {
		msgs, err := ob.Due(t.Context(), name, t0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != want {
			t.Errorf("%s holds %d messages, want %d", name, len(msgs), want)
			continue
		}
		if want == 1 && (string(msgs[0].Payload) != `{"availability":"busy"}` || !msgs[0].CreatedAt.Equal(t0) || msgs[0].Key != "alice@example.com") {
			t.Errorf("%s message = %+v", name, msgs[0])
		}
	}
	if ids, err := d.Enqueue(t.Context(), "custom.event", "alice@example.com", 1); err != nil || len(ids) != 1 {
		t.Errorf("enqueue of an event only the catch-all endpoint wants = %v, %v", ids, err)
	}
	only, err := New(Options{Outbox: memstore.New(), Endpoints: []Endpoint{endpoint("p", "https://a.example.com/", EventPresenceChanged)}})
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := only.Enqueue(t.Context(), EventSyncHealth, "alice@example.com", 1); err != nil || ids != nil {
		t.Errorf("enqueue of an event nobody wants = %v, %v", ids, err)
	}
	if _, err := d.Enqueue(t.Context(), EventSyncHealth, "alice@example.com", []byte("{not json")); err == nil {
		t.Error("Enqueue accepted invalid JSON bytes")
	}
	if _, err := d.Enqueue(t.Context(), EventSyncHealth, "", 1); err == nil {
		t.Error("Enqueue accepted an empty key")
	}
}

// TestRetryScheduleWithFakeClock follows one failing message through the
// back-off schedule to the dead-letter list.
func TestRetryScheduleWithFakeClock(t *testing.T) {
	fake := clock.NewFake(t0)
	rc := newReceiver(t, fake.Now, func(received) int { return http.StatusInternalServerError })
	ob := memstore.New()
	reg := prometheus.NewRegistry()
	d, err := New(Options{
		Outbox: ob, Clock: fake, Registerer: reg, Rand: func() float64 { return 0.5 },
		Endpoints:  []Endpoint{endpoint("hook", rc.srv.URL)},
		MinBackoff: time.Second, MaxBackoff: 4 * time.Second, MaxAttempts: 5, MaxAge: -1, PollInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, d)
	ids, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	// With jitter factor 0.5 a delay is 3/4 of the doubled base, capped at 4s.
	wantDelays := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 3 * time.Second}
	for i, delay := range wantDelays {
		attempts := i + 1
		testenv.WaitFor(t, fmt.Sprintf("failed attempt %d recorded and timer armed", attempts), func() bool {
			heads, _ := ob.Due(context.Background(), "hook", t0.Add(24*time.Hour), 0)
			return len(heads) == 1 && heads[0].Attempts == attempts && fake.PendingTimers() > 0
		})
		heads, _ := ob.Due(t.Context(), "hook", t0.Add(24*time.Hour), 0)
		if want := fake.Now().Add(delay); !heads[0].NextAttempt.Equal(want) {
			t.Fatalf("after attempt %d next attempt at %s, want %s", attempts, heads[0].NextAttempt, want)
		}
		if n := len(rc.requests()); n != attempts {
			t.Fatalf("receiver saw %d requests before the retry was due, want %d", n, attempts)
		}
		fake.Set(heads[0].NextAttempt)
	}
	testenv.WaitFor(t, "dead letter", func() bool {
		dead, _ := ob.DeadLetters(context.Background(), store.DeadLetterQuery{})
		return len(dead) == 1
	})
	dead, _ := ob.DeadLetters(t.Context(), store.DeadLetterQuery{})
	if dead[0].ID != ids[0] || dead[0].Attempts != 5 || !strings.Contains(dead[0].LastError, "HTTP 500") {
		t.Errorf("dead letter = %+v", dead[0])
	}
	reqs := rc.requests()
	for i, r := range reqs {
		if r.ID != ids[0] || r.Attempt != i+1 || r.VerifyErr != nil {
			t.Errorf("request %d = %+v", i, r)
		}
	}
	if got := counterValue(t, reg, "calsync_webhook_deliveries_total", map[string]string{"endpoint": "hook", "outcome": "retry"}); got != 4 {
		t.Errorf("retry counter = %v, want 4", got)
	}
	if got := counterValue(t, reg, "calsync_webhook_deliveries_total", map[string]string{"endpoint": "hook", "outcome": "dead"}); got != 1 {
		t.Errorf("dead counter = %v, want 1", got)
	}
	testenv.WaitFor(t, "dead-letter gauge", func() bool {
		return counterValue(t, reg, "calsync_webhook_dead_letters", map[string]string{"endpoint": "hook"}) == 1
	})
}

// TestOrderPerKey makes some first attempts fail and checks that no later
// message of the same key is attempted before the earlier one succeeded.
func TestOrderPerKey(t *testing.T) {
	var failed atomic.Int32
	rc := newReceiver(t, time.Now, func(r received) int {
		if r.N%3 == 1 && r.Attempt == 1 {
			failed.Add(1)
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	ob := memstore.New()
	reg := prometheus.NewRegistry()
	d, err := New(Options{
		Outbox: ob, Registerer: reg, Endpoints: []Endpoint{endpoint("hook", rc.srv.URL)},
		MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Concurrency: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"}
	const perKey = 6
	n := 0
	for i := range perKey {
		for _, k := range keys {
			if _, err := d.Enqueue(t.Context(), EventPresenceChanged, k, map[string]int{"n": i*10 + n%4}); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	startDispatcher(t, d)
	testenv.WaitFor(t, "outbox drained", func() bool { return pending(t, ob, "hook") == 0 })

	byKey := map[string][]received{}
	for _, r := range rc.requests() {
		if r.VerifyErr != nil {
			t.Errorf("request %+v: %v", r, r.VerifyErr)
		}
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	for _, k := range keys {
		reqs := byKey[k]
		var delivered []int
		for i, r := range reqs {
			if i > 0 && r.N < reqs[i-1].N {
				t.Errorf("%s: event %d attempted after event %d", k, r.N, reqs[i-1].N)
			}
			if i > 0 && r.N > reqs[i-1].N && reqs[i-1].Status >= 300 {
				t.Errorf("%s: event %d attempted while event %d was still failing", k, r.N, reqs[i-1].N)
			}
			if r.Status < 300 {
				delivered = append(delivered, r.N)
			}
		}
		if len(delivered) != perKey {
			t.Errorf("%s: delivered %v, want %d events", k, delivered, perKey)
		}
	}
	if got := counterValue(t, reg, "calsync_webhook_deliveries_total", map[string]string{"endpoint": "hook", "outcome": "delivered"}); got != perKey*4 {
		t.Errorf("delivered counter = %v, want %d", got, perKey*4)
	}
	if got := counterValue(t, reg, "calsync_webhook_deliveries_total", map[string]string{"endpoint": "hook", "outcome": "retry"}); got != float64(failed.Load()) || got == 0 {
		t.Errorf("retry counter = %v, want %d (> 0)", got, failed.Load())
	}
}

func TestDeadLetterBounds(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		maxAttempts  int
		maxAge       time.Duration
		wantAttempts int
		wantError    string
	}{
		{"410 Gone is dead at once", http.StatusGone, 10, -1, 1, "HTTP 410"},
		{"attempt bound", http.StatusBadGateway, 3, -1, 3, "HTTP 502"},
		{"age bound", http.StatusInternalServerError, 100, time.Nanosecond, 1, "HTTP 500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, time.Now, func(r received) int {
				if r.N == 0 {
					return tc.status
				}
				return http.StatusOK
			})
			ob := memstore.New()
			d, err := New(Options{Outbox: ob, Endpoints: []Endpoint{endpoint("hook", rc.srv.URL)},
				MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxAttempts: tc.maxAttempts, MaxAge: tc.maxAge})
			if err != nil {
				t.Fatal(err)
			}
			ids, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]int{"n": 0})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]int{"n": 1}); err != nil {
				t.Fatal(err)
			}
			startDispatcher(t, d)
			testenv.WaitFor(t, "outbox drained", func() bool { return pending(t, ob, "hook") == 0 })
			dead, err := ob.DeadLetters(t.Context(), store.DeadLetterQuery{})
			if err != nil || len(dead) != 1 {
				t.Fatalf("dead letters = %+v, %v", dead, err)
			}
			if dead[0].ID != ids[0] || dead[0].Attempts != tc.wantAttempts || !strings.Contains(dead[0].LastError, tc.wantError) {
				t.Errorf("dead letter = %+v", dead[0])
			}
			reqs := rc.requests()
			if last := reqs[len(reqs)-1]; last.N != 1 || last.Status != http.StatusOK {
				t.Errorf("the next message of the key was not delivered after the dead letter: %+v", reqs)
			}
		})
	}
}

// TestShutdownLeavesInFlightPending: an attempt cut short by shutdown is
// neither delivered nor counted as failed.
func TestShutdownLeavesInFlightPending(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	rc := newReceiver(t, time.Now, func(received) int {
		close(arrived)
		<-release
		return http.StatusOK
	})
	defer close(release)
	ob := memstore.New()
	d, err := New(Options{Outbox: ob, Endpoints: []Endpoint{endpoint("hook", rc.srv.URL)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]int{"n": 0}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-arrived
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	msgs, err := ob.Due(t.Context(), "hook", time.Now().Add(time.Hour), 0)
	if err != nil || len(msgs) != 1 || msgs[0].Attempts != 0 {
		t.Fatalf("after shutdown the message is %+v (%v), want pending with 0 attempts", msgs, err)
	}
}

// TestSecretsStayOutOfLogsAndErrors delivers to a refusing endpoint whose
// URL carries credentials and checks logs and stored errors.
func TestSecretsStayOutOfLogsAndErrors(t *testing.T) {
	rc := newReceiver(t, time.Now, func(received) int { return http.StatusUnauthorized })
	logs := &testenv.SyncBuffer{}
	ob := memstore.New()
	url := strings.Replace(rc.srv.URL, "http://", "http://hookuser:hookpass@", 1) + "/in?token=qtoken"
	ep := Endpoint{Name: "hook", URL: url, Secret: "very-secret-hmac-key"}
	d, err := New(Options{Outbox: ob, Endpoints: []Endpoint{ep}, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Enqueue(t.Context(), EventPresenceChanged, "alice@example.com", map[string]int{"n": 0}); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, d)
	testenv.WaitFor(t, "dead letter logged", func() bool { return strings.Contains(logs.String(), "dead-lettered") })
	dead, _ := ob.DeadLetters(t.Context(), store.DeadLetterQuery{})
	slog.New(slog.NewJSONHandler(logs, nil)).Info("endpoint", "ep", ep)
	text := logs.String() + dead[0].LastError + ep.String()
	for _, secret := range []string{"very-secret-hmac-key", "hookpass", "qtoken"} {
		if strings.Contains(text, secret) {
			t.Errorf("%q leaked into logs or errors:\n%s", secret, text)
		}
	}
	if !strings.Contains(dead[0].LastError, "HTTP 401") {
		t.Errorf("stored error %q does not say what failed", dead[0].LastError)
	}
	// A network error must not leak the URL's credentials either.
	_, _, err = d.post(t.Context(), &endpointState{Endpoint: Endpoint{Name: "x", URL: "http://u:hookpass@127.0.0.1:1/?token=qtoken", Secret: "s", Timeout: time.Second}},
		store.OutboxMessage{ID: "i", EventType: "e", Key: "k"}, time.Now())
	if err == nil || strings.Contains(err.Error(), "hookpass") || strings.Contains(err.Error(), "qtoken") {
		t.Errorf("network error %v", err)
	}
}

func TestRunTwiceIsRefused(t *testing.T) {
	d, err := New(Options{Outbox: memstore.New(), Clock: clock.NewFake(t0), PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, d)
	testenv.WaitFor(t, "first Run started", func() bool {
		d.runMu.Lock()
		defer d.runMu.Unlock()
		return d.running
	})
	if err := d.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run: %v, want already running", err)
	}
}
