package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/store"
)

const testSecret = "test-secret-0123456789"

// received is one request as the test receiver saw it.
type received struct {
	ID, Event, Key string
	Attempt        int
	N              int // the "n" field of the payload
	Status         int // what the receiver answered
	VerifyErr      error
	Body           []byte
}

// receiver is an httptest server that verifies signatures and records
// every request; respond decides the status code.
type receiver struct {
	srv     *httptest.Server
	now     func() time.Time
	respond func(r received) int

	mu   sync.Mutex
	reqs []received
}

func newReceiver(t *testing.T, now func() time.Time, respond func(r received) int) *receiver {
	rc := &receiver{now: now, respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var b struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Key  string `json:"key"`
		Data struct {
			N int `json:"n"`
		} `json:"data"`
	}
	_ = json.Unmarshal(raw, &b)
	attempt, _ := strconv.Atoi(r.Header.Get(HeaderAttempt))
	rec := received{ID: r.Header.Get(HeaderDelivery), Event: r.Header.Get(HeaderEvent), Key: b.Key, Attempt: attempt, N: b.Data.N, Body: raw}
	rec.VerifyErr = Verify(testSecret, r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), raw, rc.now(), 0)
	if b.ID != rec.ID || b.Type != rec.Event {
		rec.VerifyErr = fmt.Errorf("body id/type %q/%q differ from headers %q/%q", b.ID, b.Type, rec.ID, rec.Event)
	}
	rec.Status = http.StatusOK
	if rc.respond != nil {
		rec.Status = rc.respond(rec)
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, rec)
	rc.mu.Unlock()
	w.WriteHeader(rec.Status)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// startDispatcher runs d until the test ends.
func startDispatcher(t *testing.T, d *Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func pending(t *testing.T, ob store.Outbox, endpoint string) int {
	stats, err := ob.OutboxStats(context.Background())
	if err != nil {
		t.Fatalf("OutboxStats: %v", err)
	}
	return stats[endpoint].Pending
}

// counterValue reads one labelled series of a counter from a registry.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metric
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}
