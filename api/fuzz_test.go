package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
	"github.com/calsync/calsync/webhook"
)

// FuzzRequests sends arbitrary paths, queries and bodies: the API must
// never panic, and every error must be the JSON error document.
func FuzzRequests(f *testing.F) {
	seeds := []struct{ method, target, body string }{
		{"GET", "/api/v1/users?offset=1&limit=2&q=a&availability=busy,available&sync=healthy", ""},
		{"GET", "/api/v1/users/alice@example.com/agenda?start=2026-03-30T00:00:00Z&end=2026-03-31T00:00:00Z", ""},
		{"PUT", "/api/v1/users/alice@example.com/override", `{"availability":"busy","until":"2030-01-01T00:00:00Z","status_text":"{{.Until}}"}`},
		{"POST", "/api/v1/users/alice@example.com/dry-run", `{"days":3,"rules":{"merge_gap_minutes":5,"rules":[{"name":"x","match":{"subject":"(a"},"profile":"p"}]}}`},
		{"POST", "/api/v1/users/alice@example.com/dry-run", `{"rules":[{"name":"y","match":{"free_busy":["busy"]},"availability":"busy","profile":"b","status_text":"{{"}]}`},
		{"GET", "/api/v1/sync?group=&health=unhealthy&limit=1000", ""},
		{"DELETE", "/api/v1/users/%zz/override", ""},
		{"GET", "/api/v1/webhooks/dead-letters?endpoint=crm&limit=1&after=0", ""},
		{"POST", "/api/v1/webhooks/dead-letters/dead-1/retry", ""},
		{"POST", "/api/v1/webhooks/dead-letters/retry?endpoint=crm", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.body)
	}
	p := apitest.NewPresence(presence.Presence{User: "alice@example.com", Availability: presence.Busy})
	ob := memstore.New()
	if _, err := ob.Enqueue(f.Context(), []store.OutboxMessage{{ID: "dead-1", Endpoint: "crm", Key: "alice@example.com", EventType: "presence.changed"}}); err != nil {
		f.Fatal(err)
	}
	if err := ob.MarkFailed(f.Context(), "dead-1", store.Failure{Error: "HTTP 500", At: t0, Dead: true}); err != nil {
		f.Fatal(err)
	}
	dispatcher, err := webhook.New(webhook.Options{Outbox: ob, Clock: clock.NewFake(t0),
		Endpoints: []webhook.Endpoint{{Name: "crm", URL: "https://crm.example.com/hook", Secret: "s"}}})
	if err != nil {
		f.Fatal(err)
	}
	h, err := api.New(api.Options{Presence: p, Sync: apitest.NewSync(), Agenda: apitest.NewAgenda(),
		Overrides: &apitest.Overrides{P: p, Now: func() time.Time { return t0 }}, DryRun: &apitest.DryRun{}, DeadLetters: dispatcher})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		switch method {
		case "GET", "PUT", "POST", "DELETE":
		default:
			return
		}
		if !strings.HasPrefix(target, "/api/") {
			return
		}
		req, err := http.NewRequest(method, "http://calsync.test"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 400 {
			var e api.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
				t.Fatalf("%s %s = %d with a non-JSON error %q", method, target, rec.Code, rec.Body.String())
			}
		}
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s %q = %d %s", method, target, body, rec.Code, rec.Body.String())
		}
	})
}
