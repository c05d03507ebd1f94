package apiclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/calsync/calsync/api/apiclient"
)

func TestEventStreamParsesTheWireFormat(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Last-Event-ID") != "41" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unexpected request headers", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "retry: 3000\n: comment\n\n"+
			"id: 42\nevent: presence.changed\ndata: {\"a\":1}\n\n"+
			": heartbeat\n\n"+
			"id: 43\r\nevent: note\r\ndata: line one\r\ndata:line two\r\n\r\n"+
			"data: no id\n\n")
	}))
	defer srv.Close()
	c, err := apiclient.New(srv.URL, "tok", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Events(context.Background(), "41")
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	defer s.Close()
	want := []apiclient.Event{
		{ID: "42", Type: "presence.changed", Data: `{"a":1}`},
		{ID: "43", Type: "note", Data: "line one\nline two"},
		{Data: "no id"},
	}
	for i, w := range want {
		got, err := s.Next()
		if err != nil {
			t.Fatalf("Next #%d: %v", i, err)
		}
		if got != w {
			t.Errorf("Next #%d = %+v, want %+v", i, got, w)
		}
	}
	if s.LastID != "43" {
		t.Errorf("LastID = %q, want 43 (an event without id keeps the last)", s.LastID)
	}
	if _, err := s.Next(); err == nil {
		t.Errorf("Next at the end of the stream = nil error")
	}
}

func TestErrorsAreTyped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/users/x%40y/presence", "/api/v1/users/x@y/presence":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"unknown_user","message":"user \"x@y\" is not synced"}}`)
		default:
			http.Error(w, "proxy says no", http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	c, _ := apiclient.New(srv.URL+"/", "", nil)
	_, err := c.Presence(context.Background(), "x@y")
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != "unknown_user" {
		t.Errorf("Presence error = %v, want *Error 404 unknown_user", err)
	}
	_, err = c.Users(context.Background(), apiclient.ListUsersOptions{})
	if apiclient.StatusOf(err) != http.StatusBadGateway || !errors.As(err, &apiErr) || apiErr.Code != "http_error" {
		t.Errorf("Users behind a failing proxy = %v, want 502 http_error", err)
	}
	if apiclient.StatusOf(errors.New("other")) != 0 {
		t.Errorf("StatusOf(non-API error) != 0")
	}
}

func TestNewRejectsBadBaseURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://host", "http://", "::"} {
		if _, err := apiclient.New(u, "", nil); err == nil {
			t.Errorf("New(%q) = nil error", u)
		}
	}
}
