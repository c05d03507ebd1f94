package graphclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// BatchItem is one GET in a $batch: Path is relative to the v1.0 root
// ("/users/a@x/mailboxSettings").
type BatchItem struct {
	Path string
	// Prefer, if set, is sent as the inner request's Prefer header.
	Prefer string
}

// BatchResult is the answer to one BatchItem: Body on a 2xx, else Err (a
// *graph.Error with the inner status, code and Retry-After).
type BatchResult struct {
	Status int
	Body   json.RawMessage
	Err    error
}

// Batch sends up to 20 GETs in one POST /$batch and returns one result per
// item, in input order (Graph answers in any order). Inner 429s (and 503s
// with Retry-After) are sent again in a later batch after the longest
// inner Retry-After, up to ThrottleRetries times; SDKs leave that to the
// caller, so calsync does it here.
func (c *Client) Batch(ctx context.Context, items []BatchItem) ([]BatchResult, error) {
	const op = "$batch"
	if len(items) == 0 {
		return nil, nil
	}
	if len(items) > graphwire.MaxBatchRequests {
		return nil, fmt.Errorf("graphclient: %s: %d requests; Graph allows %d", op, len(items), graphwire.MaxBatchRequests)
	}
	for i, it := range items {
		if !strings.HasPrefix(it.Path, "/") {
			return nil, fmt.Errorf("graphclient: %s: item %d: path %q must start with /", op, i, it.Path)
		}
	}
	results := make([]BatchResult, len(items))
	pending := make([]int, len(items))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; ; attempt++ {
		retry, wait, err := c.batchOnce(ctx, items, pending, results)
		if err != nil {
			return nil, err
		}
		if len(retry) == 0 || attempt >= c.retries || wait > c.maxRetryWait {
			return results, nil
		}
		if wait <= 0 {
			wait = time.Second << min(attempt, 6)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
		pending = retry
	}
}

// batchOnce sends the pending items and fills their results; it returns
// the throttled ones and the longest Retry-After among them.
func (c *Client) batchOnce(ctx context.Context, items []BatchItem, pending []int, results []BatchResult) ([]int, time.Duration, error) {
	const op = "$batch"
	req := graphwire.BatchRequest{Requests: make([]graphwire.BatchRequestItem, 0, len(pending))}
	for _, i := range pending {
		it := graphwire.BatchRequestItem{ID: strconv.Itoa(i + 1), Method: http.MethodGet, URL: items[i].Path}
		if items[i].Prefer != "" {
			it.Headers = map[string]string{graphwire.HeaderPrefer: items[i].Prefer}
		}
		req.Requests = append(req.Requests, it)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.send(ctx, request{op: op, method: http.MethodPost, url: c.base.String() + "/$batch", body: body})
	if err != nil {
		return nil, 0, err
	}
	var br graphwire.BatchResponse
	if err := decode(op, resp.body, &br); err != nil {
		return nil, 0, err
	}
	answered := make(map[int]bool, len(pending))
	want := make(map[int]bool, len(pending))
	for _, i := range pending {
		want[i] = true
	}
	var retry []int
	var wait time.Duration
	for _, r := range br.Responses {
		n, err := strconv.Atoi(r.ID)
		i := n - 1
		if err != nil || !want[i] || answered[i] {
			return nil, 0, &graph.ProtocolError{Op: op, Err: fmt.Errorf("response id %q matches no request of this batch (or repeats)", r.ID)}
		}
		answered[i] = true
		results[i] = BatchResult{Status: r.Status, Body: r.Body}
		if r.Status >= 200 && r.Status < 300 {
			continue
		}
		h := http.Header{}
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		ge := c.errorOf(fmt.Sprintf("%s[%d] %s", op, i, items[i].Path), r.Status, h, r.Body)
		results[i] = BatchResult{Status: r.Status, Err: ge}
		if graph.Classify(ge) == graph.ClassThrottled {
			retry = append(retry, i)
			wait = max(wait, ge.RetryAfter)
		}
	}
	if len(answered) != len(pending) {
		return nil, 0, &graph.ProtocolError{Op: op, Err: errors.New("answered " + strconv.Itoa(len(answered)) + " of " + strconv.Itoa(len(pending)) + " requests")}
	}
	return retry, wait, nil
}
