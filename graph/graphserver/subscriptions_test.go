package graphserver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/testenv"
)

// receiver is calsync's side: it answers validation handshakes and
// records notification bodies.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   []notification
	status   int  // answer to notifications (default 202)
	badHands bool // answer validations wrongly
}

type notification struct {
	SubscriptionID string `json:"subscriptionId"`
	ChangeType     string `json:"changeType"`
	ClientState    string `json:"clientState"`
	Resource       string `json:"resource"`
	TenantID       string `json:"tenantId"`
	LifecycleEvent string `json:"lifecycleEvent"`
	ResourceData   struct {
		ID string `json:"id"`
	} `json:"resourceData"`
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusAccepted}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			rc.mu.Lock()
			bad := rc.badHands
			rc.mu.Unlock()
			w.Header().Set("Content-Type", "text/plain")
			if bad {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, tok)
			return
		}
		var body struct {
			Value []notification `json:"value"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("notification body is not JSON: %s", b)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.status == http.StatusAccepted {
			rc.bodies = append(rc.bodies, body.Value...)
		}
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]notification(nil), rc.bodies...)
}

func (e *env) subscribe(rc *receiver, user string, expiry time.Time) (*http.Response, string) {
	e.t.Helper()
	body := fmt.Sprintf(`{"changeType":"created,updated,deleted","notificationUrl":%q,"lifecycleNotificationUrl":%q,"resource":"/users/%s/events","expirationDateTime":%q,"clientState":"secret-state"}`,
		rc.srv.URL+"/notify?tenant=a", rc.srv.URL+"/lifecycle", user, expiry.UTC().Format(time.RFC3339))
	resp := e.do(http.MethodPost, "/v1.0/subscriptions", body)
	if resp.StatusCode != http.StatusCreated {
		return resp, ""
	}
	defer resp.Body.Close()
	var sub struct {
		ID              string `json:"id"`
		ClientState     string `json:"clientState"`
		NotificationURL string `json:"notificationUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sub); err != nil || sub.ID == "" || sub.ClientState != "secret-state" || !strings.HasSuffix(sub.NotificationURL, "?tenant=a") {
		e.t.Fatalf("created subscription %+v (%v)", sub, err)
	}
	return resp, sub.ID
}

func TestSubscriptionDeliversChanges(t *testing.T) {
	e := newEnv(t, 1, nil)
	rc := newReceiver(t)
	ids := e.addItems("user1@example.com", 2, "s")
	_, id := e.subscribe(rc, "user1@example.com", start.Add(24*time.Hour))
	if id == "" {
		t.Fatal("subscription not created")
	}
	e.addItems("user1@example.com", 1, "later")
	if err := e.sim.DeleteCalendarItem("user1@example.com", ews.ItemRef{Item: &ids[0]}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "a created and a deleted notification", func() bool {
		kinds := map[string]bool{}
		for _, n := range rc.received() {
			kinds[n.ChangeType] = true
		}
		return kinds["created"] && kinds["deleted"]
	})
	for _, n := range rc.received() {
		if n.SubscriptionID != id || n.ClientState != "secret-state" || n.TenantID == "" || !strings.HasPrefix(n.Resource, "Users/"+graphserver.ObjectID("user1@example.com")+"/Events/") || n.ResourceData.ID == "" {
			t.Fatalf("notification %+v", n)
		}
		if n.ChangeType == "deleted" && n.ResourceData.ID != graphID(ids[0].Id) {
			t.Fatalf("deleted notification names %s, want %s", n.ResourceData.ID, graphID(ids[0].Id))
		}
	}
}

func TestSubscriptionLifecycle(t *testing.T) {
	e := newEnv(t, 2, nil)
	rc := newReceiver(t)
	_, id := e.subscribe(rc, "user1@example.com", start.Add(24*time.Hour))
	// Renewal within the limit; beyond it a 400.
	resp := e.do(http.MethodPatch, "/v1.0/subscriptions/"+id, fmt.Sprintf(`{"expirationDateTime":%q}`, start.Add(48*time.Hour).Format(time.RFC3339)))
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("renew: %d", resp.StatusCode)
	}
	wantError(t, e.do(http.MethodPatch, "/v1.0/subscriptions/"+id, fmt.Sprintf(`{"expirationDateTime":%q}`, start.Add(8*24*time.Hour).Format(time.RFC3339))), 400, "InvalidRequest")
	// reauthorizationRequired pauses delivery until /reauthorize.
	if n, err := e.graph.SendLifecycle(graphserver.ReauthorizationRequired, "user1@example.com"); err != nil || n != 1 {
		t.Fatalf("SendLifecycle: %d %v", n, err)
	}
	testenv.WaitFor(t, "the reauthorizationRequired event", func() bool {
		for _, n := range rc.received() {
			if n.LifecycleEvent == "reauthorizationRequired" && n.SubscriptionID == id && n.ClientState == "secret-state" {
				return true
			}
		}
		return false
	})
	resp = e.do(http.MethodPost, "/v1.0/subscriptions/"+id+"/reauthorize", "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reauthorize: %d", resp.StatusCode)
	}
	// subscriptionRemoved deletes it.
	if _, err := e.graph.SendLifecycle(graphserver.SubscriptionRemoved, ""); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do(http.MethodGet, "/v1.0/subscriptions/"+id, ""), 404, "ResourceNotFound")
	if _, err := e.graph.SendLifecycle("bogus", ""); err == nil {
		t.Fatal("unknown lifecycle event accepted")
	}
	// Delete, and expiry by the model's clock.
	_, id2 := e.subscribe(rc, "user2@example.com", start.Add(time.Hour))
	_, id3 := e.subscribe(rc, "user2@example.com", start.Add(24*time.Hour))
	resp = e.do(http.MethodDelete, "/v1.0/subscriptions/"+id3, "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	wantError(t, e.do(http.MethodDelete, "/v1.0/subscriptions/"+id3, ""), 404, "ResourceNotFound")
	e.clk.Advance(2 * time.Hour)
	e.token = e.getToken()
	wantError(t, e.do(http.MethodGet, "/v1.0/subscriptions/"+id2, ""), 404, "ResourceNotFound")
}

func TestSubscriptionRefusals(t *testing.T) {
	e := newEnv(t, 1, func(o *graphserver.Options) { o.MaxSubscriptionsPerMailbox = 1 })
	rc := newReceiver(t)
	good := func(mod func(m map[string]any)) string {
		m := map[string]any{"changeType": "created,updated,deleted", "notificationUrl": rc.srv.URL + "/n", "resource": "/users/user1@example.com/events",
			"expirationDateTime": start.Add(time.Hour).Format(time.RFC3339), "clientState": "x"}
		mod(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for name, body := range map[string]string{
		"bad changeType": good(func(m map[string]any) { m["changeType"] = "moved" }),
		"me":             good(func(m map[string]any) { m["resource"] = "/me/events" }),
		"other resource": good(func(m map[string]any) { m["resource"] = "/users/user1@example.com/messages" }),
		"past expiry":    good(func(m map[string]any) { m["expirationDateTime"] = start.Add(-time.Hour).Format(time.RFC3339) }),
		"too long":       good(func(m map[string]any) { m["expirationDateTime"] = start.Add(10081 * time.Minute).Format(time.RFC3339) }),
		"no expiry":      good(func(m map[string]any) { delete(m, "expirationDateTime") }),
		"long state":     good(func(m map[string]any) { m["clientState"] = strings.Repeat("s", 129) }),
		"relative URL":   good(func(m map[string]any) { m["notificationUrl"] = "/notify" }),
		"no URL":         good(func(m map[string]any) { delete(m, "notificationUrl") }),
		"resource data":  good(func(m map[string]any) { m["includeResourceData"] = true }),
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do(http.MethodPost, "/v1.0/subscriptions", body), 400, "InvalidRequest")
		})
	}
	wantError(t, e.do(http.MethodPost, "/v1.0/subscriptions", `{"changeType":`), 400, "BadRequest")
	wantError(t, e.do(http.MethodPost, "/v1.0/subscriptions", `{"clientState":"`+strings.Repeat("x", 70<<10)+`"}`), 413, "BadRequest")
	wantError(t, e.do(http.MethodPost, "/v1.0/subscriptions", good(func(m map[string]any) { m["resource"] = "/users/nobody@example.com/events" })), 404, "ErrorInvalidUser")
	// A failed handshake: 400, and no subscription exists.
	rc.mu.Lock()
	rc.badHands = true
	rc.mu.Unlock()
	wantError(t, e.do(http.MethodPost, "/v1.0/subscriptions", good(func(map[string]any) {})), 400, "ValidationError")
	rc.mu.Lock()
	rc.badHands = false
	rc.mu.Unlock()
	resp := e.do(http.MethodPost, "/v1.0/subscriptions", good(func(map[string]any) {}))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	wantError(t, e.do(http.MethodPost, "/v1.0/subscriptions", good(func(map[string]any) {})), 403, "ExtensionError")
	var list struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	e.get("/v1.0/subscriptions", &list)
	if len(list.Value) != 1 {
		t.Fatalf("%d subscriptions listed, want 1 (the failed handshake made none)", len(list.Value))
	}
}
