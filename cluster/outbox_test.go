package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
	"github.com/calsync/calsync/webhook"
)

// receiver records every delivery: id, key and the event's number.
type receiver struct {
	mu   sync.Mutex
	got  []delivery
	hold func(d delivery) bool // true: keep this request open until release
	held chan delivery
	// release ends held requests (without an answer the caller counts).
	release chan struct{}
}

type delivery struct {
	id, key string
	n       int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		Key  string `json:"key"`
		Data struct {
			N int `json:"n"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d := delivery{id: r.Header.Get(webhook.HeaderDelivery), key: ev.Key, n: ev.Data.N}
	rc.mu.Lock()
	rc.got = append(rc.got, d)
	hold := rc.hold != nil && rc.hold(d)
	rc.mu.Unlock()
	if hold {
		rc.held <- d
		select {
		case <-rc.release:
		case <-r.Context().Done():
		}
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// dispatcher is one instance's webhook dispatcher on the shared outbox.
func dispatcher(t *testing.T, url, owner, target string, claimTTL time.Duration) (*webhook.Dispatcher, context.CancelFunc, chan struct{}) {
	t.Helper()
	st, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	d, err := webhook.New(webhook.Options{
		Outbox:       st.Claiming(owner, claimTTL),
		Endpoints:    []webhook.Endpoint{{Name: "uc", URL: target, Secret: "0123456789abcdef-secret", Timeout: 5 * time.Second}},
		PollInterval: 100 * time.Millisecond,
		MinBackoff:   50 * time.Millisecond,
		Concurrency:  4,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return d, cancel, done
}

// checkOrder fails when a key's events arrived out of order, counting
// repeats of one delivery id (same event) as allowed.
func checkOrder(t *testing.T, got []delivery) {
	t.Helper()
	last := map[string]int{}
	idOf := map[string]map[int]string{}
	for _, d := range got {
		if n, ok := last[d.key]; ok && d.n < n {
			t.Errorf("key %s: event %d arrived after event %d", d.key, d.n, n)
		}
		last[d.key] = max(last[d.key], d.n)
		if idOf[d.key] == nil {
			idOf[d.key] = map[int]string{}
		}
		if id, ok := idOf[d.key][d.n]; ok && id != d.id {
			t.Errorf("key %s event %d arrived under two ids %s and %s", d.key, d.n, id, d.id)
		}
		idOf[d.key][d.n] = d.id
	}
}

// TestOutboxDeliveredOnceAcrossInstances: three instances' dispatchers on
// one outbox, events enqueued through all of them: every event is
// delivered exactly once, and each user's events in order.
func TestOutboxDeliveredOnceAcrossInstances(t *testing.T) {
	url := pgtest.Database(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var ds []*webhook.Dispatcher
	for _, id := range []string{"calsync-a", "calsync-b", "calsync-c"} {
		d, _, _ := dispatcher(t, url, id, srv.URL, time.Minute)
		ds = append(ds, d)
	}
	const keys, per = 12, 15
	for n := range per {
		for k := range keys {
			d := ds[(n+k)%3]
			if _, err := d.Enqueue(context.Background(), webhook.EventPresenceChanged, fmt.Sprintf("user%02d@example.com", k), map[string]int{"n": n}); err != nil {
				t.Fatal(err)
			}
		}
	}
	testenv.WaitFor(t, "every event delivered", func() bool { return len(rc.deliveries()) >= keys*per })
	got := rc.deliveries()
	ids := map[string]int{}
	for _, d := range got {
		ids[d.id]++
	}
	if len(got) != keys*per || len(ids) != keys*per {
		t.Errorf("%d requests, %d distinct ids for %d events: a message was sent twice", len(got), len(ids), keys*per)
	}
	checkOrder(t, got)
}

// TestOutboxFailoverKeepsIDAndOrder: the instance delivering a user's
// event stops in the middle of the request; once its claim expires another
// instance sends the same event under the same delivery id, then the
// user's later events in order.
func TestOutboxFailoverKeepsIDAndOrder(t *testing.T) {
	url := pgtest.Database(t)
	rc := &receiver{held: make(chan delivery, 1), release: make(chan struct{})}
	rc.hold = func(d delivery) bool { return d.key == "alice@example.com" && d.n == 0 && len(rc.got) == 1 }
	srv := httptest.NewServer(rc)
	defer srv.Close()
	a, stopA, doneA := dispatcher(t, url, "calsync-a", srv.URL, 2*time.Second)
	for n := range 5 {
		if _, err := a.Enqueue(context.Background(), webhook.EventPresenceChanged, "alice@example.com", map[string]int{"n": n}); err != nil {
			t.Fatal(err)
		}
	}
	first := <-rc.held // a is delivering event 0
	dispatcher(t, url, "calsync-b", srv.URL, 2*time.Second)
	stopA() // a shuts down mid-request (a crash leaves the claim the same way)
	<-doneA
	testenv.WaitFor(t, "b delivering all five events", func() bool { return len(rc.deliveries()) >= 6 })
	got := rc.deliveries()
	if got[1].id != first.id || got[1].n != 0 {
		t.Errorf("after the failover %+v came first, want event 0 again under id %s", got[1], first.id)
	}
	checkOrder(t, got)
	ids := map[string]bool{}
	for _, d := range got {
		ids[d.id] = true
	}
	if len(got) != 6 || len(ids) != 5 {
		t.Errorf("%d requests with %d ids, want 6 with 5 (only the interrupted one repeated)", len(got), len(ids))
	}
}
