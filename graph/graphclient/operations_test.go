package graphclient

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/graph"
)

func TestCalendarViewFollowsNextLinksAndEmptyPages(t *testing.T) {
	f := newFakeGraph(t)
	var prefer, window string
	f.mux.HandleFunc("GET /v1.0/users/{id}/calendarView", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "a@x.example" {
			graphError(w, 404, "ErrorInvalidUser", "The requested user 'x' is invalid.")
			return
		}
		base := "http://" + r.Host + r.URL.Path
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			prefer = r.Header.Get("Prefer")
			window = r.URL.Query().Get("startDateTime") + "/" + r.URL.Query().Get("endDateTime") + "/" + r.URL.Query().Get("$top")
			writeJSON(w, 200, map[string]any{"value": []any{event("e1", "2026-12-07T09:00:00.0000000", "2026-12-07T10:00:00.0000000")},
				"@odata.nextLink": base + "?$skiptoken=p2"})
		case "p2":
			writeJSON(w, 200, map[string]any{"value": []any{}, "@odata.nextLink": base + "?$skiptoken=p3"})
		case "p3":
			writeJSON(w, 200, map[string]any{"value": []any{event("e2", "2026-12-08T09:00:00.0000000", "2026-12-08T10:00:00.0000000")}})
		}
	})
	c := f.client(t, nil, nil)
	evs, err := c.CalendarView(ctxT(t), "a@x.example", t0, t0.Add(48*time.Hour), ViewOptions{TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].ID != "e1" || evs[1].ID != "e2" || evs[0].ShowAs != graph.ShowBusy {
		t.Fatalf("events = %+v", evs)
	}
	if prefer != `outlook.timezone="UTC"` || window != "2026-12-07T08:00:00Z/2026-12-09T08:00:00Z/500" {
		t.Errorf("prefer %q window %q", prefer, window)
	}
	_, err = c.CalendarView(ctxT(t), "nobody@x.example", t0, t0.Add(time.Hour), ViewOptions{})
	if graph.Classify(err) != graph.ClassNotFound || !graph.IsCode(err, graph.CodeErrorInvalidUser) {
		t.Errorf("unknown user: %v (%s)", err, graph.Classify(err))
	}
	if _, err := c.CalendarView(ctxT(t), "a@x.example", t0, t0, ViewOptions{}); err == nil {
		t.Error("empty window: no error")
	}
}

func TestDeltaRoundsRemovedReplaysAndResync(t *testing.T) {
	f := newFakeGraph(t)
	f.mux.HandleFunc("GET /v1.0/users/{id}/calendarView/delta", func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host + r.URL.Path
		q := r.URL.Query()
		switch {
		case q.Get("$deltatoken") == "old":
			graphError(w, 410, "SyncStateNotFound", "The sync state generation is not found; generation=3")
		case q.Get("$deltatoken") == "d1":
			writeJSON(w, 200, map[string]any{"value": []any{
				map[string]any{"@odata.type": "#microsoft.graph.event", "id": "e1", "@removed": map[string]string{"reason": "deleted"}},
				map[string]any{"@odata.type": "#microsoft.graph.event", "id": "outside", "@removed": map[string]string{"reason": "deleted"}},
			}, "@odata.deltaLink": base + "?$deltatoken=d2"})
		case q.Get("$skiptoken") == "":
			if q.Get("startDateTime") == "" || !strings.Contains(r.Header.Get("Prefer"), "odata.maxpagesize=") {
				graphError(w, 400, "ErrorInvalidParameter", "window missing")
				return
			}
			w.Header().Set("Preference-Applied", "odata.track-changes")
			writeJSON(w, 200, map[string]any{"value": []any{}, "@odata.nextLink": base + "?$skiptoken=s1"})
		case q.Get("$skiptoken") == "s1":
			writeJSON(w, 200, map[string]any{"value": []any{
				event("e1", "2026-12-07T09:00:00.0000000", "2026-12-07T10:00:00.0000000"),
				event("e2", "2026-12-07T11:00:00.0000000", "2026-12-07T12:00:00.0000000"),
				event("e1", "2026-12-07T09:30:00.0000000", "2026-12-07T10:00:00.0000000"), // replay, newer
			}, "@odata.deltaLink": base + "?$deltatoken=d1"})
		}
	})
	c := f.client(t, nil, nil)
	r1, err := c.Delta(ctxT(t), "a@x.example", DeltaRequest{Start: t0, End: t0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r1.Events) != 2 || r1.Events[0].Start.DateTime != "2026-12-07T09:30:00.0000000" || len(r1.Removed) != 0 || !strings.Contains(r1.DeltaLink, "d1") {
		t.Fatalf("round 1 = %+v", r1)
	}
	r2, err := c.Delta(ctxT(t), "a@x.example", DeltaRequest{Link: r1.DeltaLink})
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Events) != 0 || len(r2.Removed) != 2 || r2.Removed[0].ID != "e1" || !strings.Contains(r2.DeltaLink, "d2") {
		t.Fatalf("round 2 = %+v", r2)
	}
	_, err = c.Delta(ctxT(t), "a@x.example", DeltaRequest{Link: strings.Replace(r1.DeltaLink, "d1", "old", 1)})
	if graph.Classify(err) != graph.ClassResync {
		t.Fatalf("expired token: %v (%s), want resync", err, graph.Classify(err))
	}
	if _, err := c.Delta(ctxT(t), "a@x.example", DeltaRequest{Link: "https://evil.example/v1.0/users/a/calendarView/delta?$deltatoken=x"}); err == nil {
		t.Error("deltaLink to another host accepted")
	}
}

func TestMailboxSettingsAndNotOnGraph(t *testing.T) {
	f := newFakeGraph(t)
	f.mux.HandleFunc("GET /v1.0/users/{id}/mailboxSettings", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "onprem@x.example" {
			graphError(w, 404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
			return
		}
		writeJSON(w, 200, map[string]any{"timeZone": "W. Europe Standard Time",
			"automaticRepliesSetting": map[string]any{"status": "AlwaysEnabled", "externalAudience": "None", "internalReplyMessage": "away"}})
	})
	c := f.client(t, nil, nil)
	m, err := c.MailboxSettings(ctxT(t), "a@x.example")
	if err != nil {
		t.Fatal(err)
	}
	if m.TimeZone != "W. Europe Standard Time" || m.AutomaticReplies.Status != graph.AutoRepliesAlwaysEnabled || m.AutomaticReplies.InternalReplyMessage != "away" {
		t.Errorf("settings = %+v", m)
	}
	_, err = c.MailboxSettings(ctxT(t), "onprem@x.example")
	if graph.Classify(err) != graph.ClassNotOnGraph {
		t.Errorf("on-prem mailbox: %v (%s)", err, graph.Classify(err))
	}
}

func TestExpiredTokenIsReplacedOnce(t *testing.T) {
	f := newFakeGraph(t)
	f.mux.HandleFunc("GET /v1.0/users/{id}/mailboxSettings", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok1" || r.PathValue("id") == "always@x.example" {
			w.Header().Set("WWW-Authenticate", `Bearer realm=""`)
			graphError(w, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
			return
		}
		writeJSON(w, 200, map[string]any{"timeZone": "UTC"})
	})
	c := f.client(t, nil, nil)
	if _, err := c.MailboxSettings(ctxT(t), "a@x.example"); err != nil {
		t.Fatalf("after one 401: %v", err)
	}
	if b := f.bearers(); len(b) != 2 || b[0] != "tok1" || b[1] != "tok2" {
		t.Errorf("bearers = %v", b)
	}
	_, err := c.MailboxSettings(ctxT(t), "always@x.example")
	if graph.Classify(err) != graph.ClassCredentials {
		t.Errorf("persistent 401: %v (%s)", err, graph.Classify(err))
	}
}

func TestSubscriptions(t *testing.T) {
	f := newFakeGraph(t)
	var created map[string]any
	f.mux.HandleFunc("POST /v1.0/subscriptions", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&created)
		created["id"] = "sub-1"
		writeJSON(w, 201, created)
	})
	f.mux.HandleFunc("PATCH /v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		if len(body) != 1 || body["expirationDateTime"] == nil {
			graphError(w, 400, "invalidRequest", "only expirationDateTime")
			return
		}
		writeJSON(w, 200, map[string]any{"id": r.PathValue("id"), "expirationDateTime": body["expirationDateTime"]})
	})
	f.mux.HandleFunc("DELETE /v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "gone" {
			graphError(w, 404, "itemNotFound", "not found")
			return
		}
		w.WriteHeader(204)
	})
	c := f.client(t, nil, nil)
	exp := t0.Add(3 * 24 * time.Hour)
	s, err := c.CreateSubscription(ctxT(t), "a@x.example", graph.Subscription{Resource: EventsResource("a@x.example"),
		NotificationURL: "https://calsync.example/notify", LifecycleNotificationURL: "https://calsync.example/lifecycle",
		Expiration: exp, ClientState: "cs"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "sub-1" || !s.Expiration.Equal(exp) || created["changeType"] != "created,updated,deleted" || created["resource"] != "/users/a@x.example/events" {
		t.Errorf("created %+v from %v", s, created)
	}
	r, err := c.RenewSubscription(ctxT(t), "a@x.example", "sub-1", exp.Add(time.Hour))
	if err != nil || !r.Expiration.Equal(exp.Add(time.Hour)) {
		t.Errorf("renew = %+v, %v", r, err)
	}
	if err := c.DeleteSubscription(ctxT(t), "a@x.example", "sub-1"); err != nil {
		t.Error(err)
	}
	if err := c.DeleteSubscription(ctxT(t), "a@x.example", "gone"); err != nil {
		t.Errorf("deleting a gone subscription: %v", err)
	}
	if _, err := c.CreateSubscription(ctxT(t), "a@x.example", graph.Subscription{Resource: "/users/a/events", NotificationURL: "https://x", Expiration: exp,
		ClientState: strings.Repeat("x", 129)}); err == nil {
		t.Error("129-character clientState accepted")
	}
}
