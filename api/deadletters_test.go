package api_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
	"github.com/calsync/calsync/webhook"
)

// deadEnv is an API over a real webhook.Dispatcher (not running) and an
// in-memory outbox holding dead letters.
type deadEnv struct {
	srv    *httptest.Server
	client *apiclient.Client
	outbox *memstore.Store
	// dead are the ids of the crm endpoint's dead letters in Seq order
	// (alice, bob, carol); gone is a dead letter of an endpoint that is
	// not configured; live is a pending message.
	dead       []string
	gone, live string
	deadAt     []time.Time
}

const deadToken = "dl-token"

func newDeadEnv(t *testing.T) *deadEnv {
	t.Helper()
	e := &deadEnv{outbox: memstore.New()}
	d, err := webhook.New(webhook.Options{Outbox: e.outbox, Clock: clock.NewFake(t0),
		Endpoints: []webhook.Endpoint{{Name: "crm", URL: "https://crm.example.com/hook", Secret: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	msg := func(endpoint, user string) store.OutboxMessage {
		return store.OutboxMessage{Endpoint: endpoint, Key: user, EventType: webhook.EventPresenceChanged, Payload: []byte(`{}`), CreatedAt: t0}
	}
	msgs, err := e.outbox.Enqueue(t.Context(), []store.OutboxMessage{
		msg("crm", "alice@example.com"), msg("gone", "alice@example.com"), msg("crm", "bob@example.com"),
		msg("crm", "carol@example.com"), msg("crm", "dave@example.com"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs[:4] {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		if err := e.outbox.MarkFailed(t.Context(), m.ID, store.Failure{Error: "HTTP 503", At: at.Add(-time.Second), Next: at}); err != nil {
			t.Fatal(err)
		}
		if err := e.outbox.MarkFailed(t.Context(), m.ID, store.Failure{Error: "POST https://crm.example.com/hook: HTTP 500: \"boom\"", At: at, Next: at.Add(time.Minute), Dead: true}); err != nil {
			t.Fatal(err)
		}
		if m.Endpoint == "crm" {
			e.dead = append(e.dead, m.ID)
			e.deadAt = append(e.deadAt, at)
		}
	}
	e.gone, e.live = msgs[1].ID, msgs[4].ID
	h, err := api.New(api.Options{Presence: apitest.NewPresence(), DeadLetters: d, Tokens: []string{deadToken}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	if e.client, err = apiclient.New(e.srv.URL, deadToken, e.srv.Client()); err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a request with the given token ("" for none).
func (e *deadEnv) do(t *testing.T, method, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func dtoIDs(list api.DeadLetterListDTO) []string {
	out := []string{}
	for _, d := range list.DeadLetters {
		out = append(out, d.ID)
	}
	return out
}

func TestDeadLettersListAndPage(t *testing.T) {
	e := newDeadEnv(t)
	ctx := t.Context()
	all, err := e.client.DeadLetters(ctx, apiclient.DeadLettersOptions{})
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if got, want := dtoIDs(all), []string{e.dead[0], e.gone, e.dead[1], e.dead[2]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("all dead letters = %v, want %v", got, want)
	}
	if all.Limit != 100 || all.NextAfter != 0 {
		t.Errorf("limit %d next_after %d, want the default 100 and no next page", all.Limit, all.NextAfter)
	}
	first := all.DeadLetters[0]
	if first.Endpoint != "crm" || first.User != "alice@example.com" || first.EventType != webhook.EventPresenceChanged ||
		first.Attempts != 2 || first.LastError != `POST https://crm.example.com/hook: HTTP 500: "boom"` ||
		first.DeadLetteredAt == nil || !first.DeadLetteredAt.Equal(e.deadAt[0]) || first.CreatedAt == nil || !first.CreatedAt.Equal(t0) ||
		first.Requeues != 0 || first.RequeuedAt != nil {
		t.Errorf("first dead letter = %+v", first)
	}
	// The wire names the brief promises administrators.
	_, raw := e.do(t, "GET", "/api/v1/webhooks/dead-letters?limit=1", deadToken)
	var doc struct {
		DeadLetters []map[string]any `json:"dead_letters"`
		NextAfter   uint64           `json:"next_after"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.DeadLetters) != 1 {
		t.Fatalf("GET ?limit=1 = %s (%v)", raw, err)
	}
	for _, k := range []string{"id", "endpoint", "user", "event_type", "attempts", "last_error", "dead_lettered_at", "created_at", "seq"} {
		if _, ok := doc.DeadLetters[0][k]; !ok {
			t.Errorf("dead letter JSON lacks %q: %s", k, raw)
		}
	}
	if doc.NextAfter == 0 {
		t.Errorf("first page of 1 has no next_after: %s", raw)
	}

	// Paging one endpoint two at a time.
	var paged []string
	after := uint64(0)
	for page := 0; ; page++ {
		p, err := e.client.DeadLetters(ctx, apiclient.DeadLettersOptions{Endpoint: "crm", Limit: 2, After: after})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		paged = append(paged, dtoIDs(p)...)
		if p.NextAfter == 0 {
			if page != 1 {
				t.Errorf("crm's 3 dead letters took %d pages of 2, want 2", page+1)
			}
			break
		}
		after = p.NextAfter
		if page > 3 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(paged, ",") != strings.Join(e.dead, ",") {
		t.Errorf("crm's dead letters paged = %v, want %v", paged, e.dead)
	}
	none, err := e.client.DeadLetters(ctx, apiclient.DeadLettersOptions{Endpoint: "nobody"})
	if err != nil || none.DeadLetters == nil || len(none.DeadLetters) != 0 {
		t.Errorf("dead letters of an unknown endpoint = %+v, %v; want an empty list", none, err)
	}
	status, raw := e.do(t, "GET", "/api/v1/webhooks/dead-letters?endpoint=nobody", deadToken)
	if status != 200 || !strings.Contains(string(raw), `"dead_letters":[]`) {
		t.Errorf("empty list = %d %s, want 200 with an empty array", status, raw)
	}
}

func TestDeadLetterRoutesStatusAndErrors(t *testing.T) {
	e := newDeadEnv(t)
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		wantStatus int
		wantCode   string
	}{
		{"list", "GET", "/api/v1/webhooks/dead-letters?endpoint=crm&limit=5", deadToken, 200, ""},
		{"list limit 0", "GET", "/api/v1/webhooks/dead-letters?limit=0", deadToken, 400, "bad_request"},
		{"list limit too big", "GET", "/api/v1/webhooks/dead-letters?limit=1001", deadToken, 400, "bad_request"},
		{"list limit not a number", "GET", "/api/v1/webhooks/dead-letters?limit=ten", deadToken, 400, "bad_request"},
		{"list negative after", "GET", "/api/v1/webhooks/dead-letters?after=-1", deadToken, 400, "bad_request"},
		{"list after not a number", "GET", "/api/v1/webhooks/dead-letters?after=abc", deadToken, 400, "bad_request"},
		{"list without token", "GET", "/api/v1/webhooks/dead-letters", "", 401, "unauthorized"},
		{"list with a wrong token", "GET", "/api/v1/webhooks/dead-letters", "nope", 401, "unauthorized"},
		{"retry without token", "POST", "/api/v1/webhooks/dead-letters/" + e.dead[0] + "/retry", "", 401, "unauthorized"},
		{"retry all without token", "POST", "/api/v1/webhooks/dead-letters/retry?endpoint=crm", "", 401, "unauthorized"},
		{"retry unknown id", "POST", "/api/v1/webhooks/dead-letters/0123456789abcdef/retry", deadToken, 404, "not_found"},
		{"retry a pending message", "POST", "/api/v1/webhooks/dead-letters/" + e.live + "/retry", deadToken, 404, "not_found"},
		{"retry a removed endpoint's dead letter", "POST", "/api/v1/webhooks/dead-letters/" + e.gone + "/retry", deadToken, 404, "unknown_endpoint"},
		{"retry with GET", "GET", "/api/v1/webhooks/dead-letters/" + e.dead[0] + "/retry", deadToken, 405, "method_not_allowed"},
		{"retry all without endpoint", "POST", "/api/v1/webhooks/dead-letters/retry", deadToken, 400, "bad_request"},
		{"retry all of an unknown endpoint", "POST", "/api/v1/webhooks/dead-letters/retry?endpoint=nobody", deadToken, 404, "unknown_endpoint"},
		{"retry all of a removed endpoint", "POST", "/api/v1/webhooks/dead-letters/retry?endpoint=gone", deadToken, 404, "unknown_endpoint"},
		{"list with POST", "POST", "/api/v1/webhooks/dead-letters", deadToken, 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(t, tc.method, tc.path, tc.token)
			if status != tc.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, status, body, tc.wantStatus)
			}
			if tc.wantCode != "" {
				if code := errorCode(t, body); code != tc.wantCode {
					t.Errorf("%s %s: error code %q, want %q (%s)", tc.method, tc.path, code, tc.wantCode, body)
				}
			}
		})
	}
	// None of the refused requests re-queued anything.
	stats, err := e.outbox.OutboxStats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats["crm"] != (store.OutboxCount{Pending: 1, Dead: 3}) || stats["gone"] != (store.OutboxCount{Dead: 1}) {
		t.Errorf("outbox after refused requests = %v", stats)
	}
}

func TestRetryOneDeadLetter(t *testing.T) {
	e := newDeadEnv(t)
	ctx := t.Context()
	got, err := e.client.RetryDeadLetter(ctx, e.dead[1])
	if err != nil {
		t.Fatalf("RetryDeadLetter: %v", err)
	}
	if got != (api.DeadLetterRetryDTO{Endpoint: "crm", Requeued: 1, ID: e.dead[1]}) {
		t.Errorf("RetryDeadLetter = %+v", got)
	}
	status, _ := e.do(t, "POST", "/api/v1/webhooks/dead-letters/"+e.dead[0]+"/retry", deadToken)
	if status != http.StatusAccepted {
		t.Errorf("POST retry = %d, want 202", status)
	}
	// Both are pending again under their ids; bob's re-queued one is due.
	due, err := e.outbox.Due(ctx, "crm", t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var dueIDs []string
	for _, m := range due {
		dueIDs = append(dueIDs, m.ID)
		if (m.ID == e.dead[0] || m.ID == e.dead[1]) && (m.Requeues != 1 || m.Attempts != 0) {
			t.Errorf("re-queued message = %+v", m)
		}
	}
	if want := []string{e.dead[0], e.dead[1], e.live}; strings.Join(dueIDs, ",") != strings.Join(want, ",") {
		t.Errorf("due after retries = %v, want %v", dueIDs, want)
	}
	left, err := e.client.DeadLetters(ctx, apiclient.DeadLettersOptions{Endpoint: "crm"})
	if err != nil || strings.Join(dtoIDs(left), ",") != e.dead[2] {
		t.Errorf("crm's dead letters after two retries = %v, %v; want [%s]", dtoIDs(left), err, e.dead[2])
	}
	_, err = e.client.RetryDeadLetter(ctx, e.dead[1])
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != "not_found" {
		t.Errorf("second retry of the same id = %v, want 404 not_found", err)
	}
}

func TestRetryAllDeadLettersOfEndpoint(t *testing.T) {
	e := newDeadEnv(t)
	ctx := t.Context()
	got, err := e.client.RetryDeadLetters(ctx, "crm")
	if err != nil {
		t.Fatalf("RetryDeadLetters: %v", err)
	}
	if got != (api.DeadLetterRetryDTO{Endpoint: "crm", Requeued: 3}) {
		t.Errorf("RetryDeadLetters(crm) = %+v, want 3 re-queued", got)
	}
	left, err := e.client.DeadLetters(ctx, apiclient.DeadLettersOptions{})
	if err != nil || strings.Join(dtoIDs(left), ",") != e.gone {
		t.Errorf("dead letters after retrying crm = %v, %v; want only the removed endpoint's [%s]", dtoIDs(left), err, e.gone)
	}
	stats, err := e.outbox.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats["crm"] != (store.OutboxCount{Pending: 4}) {
		t.Errorf("crm after retry-all = %+v, want 4 pending", stats["crm"])
	}
	status, body := e.do(t, "POST", "/api/v1/webhooks/dead-letters/retry?endpoint=crm", deadToken)
	var again api.DeadLetterRetryDTO
	if err := json.Unmarshal(body, &again); status != http.StatusAccepted || err != nil || again.Requeued != 0 {
		t.Errorf("second retry-all = %d %s, want 202 with requeued 0", status, body)
	}
}

func TestDeadLetterRoutesWithoutWebhooks(t *testing.T) {
	h, err := api.New(api.Options{Presence: apitest.NewPresence()})
	if err != nil {
		t.Fatal(err)
	}
	for _, rq := range []struct{ method, path string }{
		{"GET", "/api/v1/webhooks/dead-letters"},
		{"POST", "/api/v1/webhooks/dead-letters/abc/retry"},
		{"POST", "/api/v1/webhooks/dead-letters/retry?endpoint=crm"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(rq.method, rq.path, nil))
		if rec.Code != http.StatusNotImplemented || errorCode(t, rec.Body.Bytes()) != "not_implemented" {
			t.Errorf("%s %s without webhooks = %d %s, want 501 not_implemented", rq.method, rq.path, rec.Code, rec.Body)
		}
	}
}
