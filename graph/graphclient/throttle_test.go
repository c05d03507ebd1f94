package graphclient

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

func TestThrottledRequestWaitsFractionalRetryAfterOnTheClock(t *testing.T) {
	f := newFakeGraph(t)
	var calls atomic.Int32
	f.mux.HandleFunc("GET /v1.0/users/{id}/mailboxSettings", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2.128")
			graphError(w, 429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
			return
		}
		writeJSON(w, 200, map[string]any{"timeZone": "UTC"})
	})
	clk := clock.NewFake(t0)
	c := f.client(t, clk, nil)
	done := make(chan error, 1)
	go func() { _, err := c.MailboxSettings(ctxT(t), "a@x.example"); done <- err }()
	testenv.WaitFor(t, "the client to wait for Retry-After", func() bool { return clk.PendingTimers() > 0 })
	clk.Advance(2 * time.Second)
	if calls.Load() != 1 {
		t.Fatalf("retried before Retry-After (2.128 s) passed: %d calls", calls.Load())
	}
	clk.Advance(200 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls, want 2", calls.Load())
	}
}

func TestThrottleRetriesAreBounded(t *testing.T) {
	f := newFakeGraph(t)
	f.mux.HandleFunc("GET /v1.0/users/{id}/mailboxSettings", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "600") // longer than MaxRetryWait: returned, not waited
		graphError(w, 429, "TooManyRequests", "Please retry again later.")
	})
	c := f.client(t, clock.NewFake(t0), nil)
	_, err := c.MailboxSettings(ctxT(t), "a@x.example")
	if d, ok := graph.RetryAfter(err); !ok || d != 10*time.Minute || graph.Classify(err) != graph.ClassThrottled {
		t.Fatalf("err = %v, retry after %v %v", err, d, ok)
	}
}

func TestAtMostFourConcurrentRequestsPerMailbox(t *testing.T) {
	f := newFakeGraph(t)
	var mu sync.Mutex
	inflight := map[string]int{}
	peak := map[string]int{}
	release := make(chan struct{})
	f.mux.HandleFunc("GET /v1.0/users/{id}/mailboxSettings", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		mu.Lock()
		inflight[id]++
		peak[id] = max(peak[id], inflight[id])
		mu.Unlock()
		<-release
		mu.Lock()
		inflight[id]--
		mu.Unlock()
		writeJSON(w, 200, map[string]any{"timeZone": "UTC"})
	})
	c := f.client(t, nil, nil)
	var wg sync.WaitGroup
	for i := range 12 {
		mbx := "a@x.example"
		if i%3 == 0 {
			mbx = "b@x.example"
		}
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = c.MailboxSettings(ctxT(t), mbx) }()
	}
	testenv.WaitFor(t, "4 requests of a and 4 of b in flight", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return inflight["a@x.example"] == 4 && inflight["b@x.example"] == 4
	})
	close(release)
	wg.Wait()
	if peak["a@x.example"] != 4 || peak["b@x.example"] != 4 {
		t.Errorf("peak concurrency = %v, want 4 each", peak)
	}
}

func TestBatchRetriesThrottledInnerRequests(t *testing.T) {
	f := newFakeGraph(t)
	var rounds atomic.Int32
	var secondIDs []string
	f.mux.HandleFunc("POST /v1.0/$batch", func(w http.ResponseWriter, r *http.Request) {
		var req graphwire.BatchRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		n := rounds.Add(1)
		var resp graphwire.BatchResponse
		for i := len(req.Requests) - 1; i >= 0; i-- { // any order
			it := req.Requests[i]
			if n == 2 {
				secondIDs = append(secondIDs, it.ID)
			}
			switch {
			case it.URL == "/users/b@x.example/mailboxSettings" && n == 1:
				resp.Responses = append(resp.Responses, graphwire.BatchResponseItem{ID: it.ID, Status: 429,
					Headers: map[string]string{"Retry-After": "1.5"},
					Body:    json.RawMessage(`{"error":{"code":"ApplicationThrottled","message":"Application is over its MailboxConcurrency limit."}}`)})
			case it.URL == "/users/c@x.example/mailboxSettings":
				resp.Responses = append(resp.Responses, graphwire.BatchResponseItem{ID: it.ID, Status: 404,
					Body: json.RawMessage(`{"error":{"code":"MailboxNotEnabledForRESTAPI","message":"REST API is not yet supported for this mailbox."}}`)})
			default:
				resp.Responses = append(resp.Responses, graphwire.BatchResponseItem{ID: it.ID, Status: 200, Body: json.RawMessage(`{"timeZone":"` + it.URL + `"}`)})
			}
		}
		writeJSON(w, 200, resp)
	})
	clk := clock.NewFake(t0)
	c := f.client(t, clk, nil)
	items := []BatchItem{{Path: "/users/a@x.example/mailboxSettings"}, {Path: "/users/b@x.example/mailboxSettings"}, {Path: "/users/c@x.example/mailboxSettings"}}
	done := make(chan []BatchResult, 1)
	go func() {
		res, err := c.Batch(ctxT(t), items)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	testenv.WaitFor(t, "the batch to wait for the inner Retry-After", func() bool { return clk.PendingTimers() > 0 })
	clk.Advance(1500 * time.Millisecond)
	res := <-done
	if len(res) != 3 || res[0].Status != 200 || res[1].Status != 200 || res[2].Status != 404 {
		t.Fatalf("results = %+v", res)
	}
	if string(res[1].Body) != `{"timeZone":"/users/b@x.example/mailboxSettings"}` {
		t.Errorf("b's body = %s", res[1].Body)
	}
	if graph.Classify(res[2].Err) != graph.ClassNotOnGraph {
		t.Errorf("c: %v", res[2].Err)
	}
	if len(secondIDs) != 1 || secondIDs[0] != "2" {
		t.Errorf("second batch carried %v, want only b's request", secondIDs)
	}
	if _, err := c.Batch(ctxT(t), make([]BatchItem, 21)); err == nil {
		t.Error("21 requests accepted")
	}
}
