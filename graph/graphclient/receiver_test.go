package graphclient

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/calsync/calsync/graph"
)

func TestReceiver(t *testing.T) {
	var got []graph.Notification
	h := &Receiver{ClientState: "cs-1", Deliver: func(ns []graph.Notification) { got = append(got, ns...) }}

	token := "Validation: Testing client application reachability for subscription Request-Id: 1+2 &x"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notify?validationToken="+url.QueryEscape(token), nil))
	if rec.Code != 200 || rec.Body.String() != token || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("handshake: %d %q %q", rec.Code, rec.Body, rec.Header().Get("Content-Type"))
	}

	body := `{"value":[
	 {"subscriptionId":"s1","changeType":"updated","clientState":"cs-1","resource":"Users/u/Events/e","resourceData":{"id":"e"}},
	 {"subscriptionId":"s1","changeType":"updated","clientState":"forged","resource":"Users/u/Events/e"},
	 {"subscriptionId":"s1","lifecycleEvent":"subscriptionRemoved","clientState":"cs-1"}]}`
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(body)))
	if rec.Code != http.StatusAccepted || len(got) != 2 || got[0].ResourceID != "e" || got[1].Lifecycle != graph.LifecycleSubscriptionRemoved || h.Rejected.Load() != 1 {
		t.Errorf("delivery: %d, %+v, rejected %d", rec.Code, got, h.Rejected.Load())
	}

	for _, bad := range []string{"", "{", `{"value":{}}`, `{"value":[` + strings.Repeat(`{"subscriptionId":"x"},`, 60000) + `{}]}`} {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(bad)))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("bad body %.20q: %d", bad, rec.Code)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/notify", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
}
