package ewsclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/clock"
)

func heartbeat() []byte {
	var buf bytes.Buffer
	_ = ewswire.NewStreamWriter(&buf, nil).Write(ewswire.ConnectionStatusMessage(ews.ConnectionOK))
	return buf.Bytes()
}

// streamServer writes parts one after the other, flushing each, then runs
// tail (nil = return, which ends the body).
func streamServer(parts [][]byte, tail func(r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		for _, p := range parts {
			_, _ = w.Write(p)
			w.(http.Flusher).Flush()
		}
		if tail != nil {
			tail(r)
		}
	})
}

func openStream(t *testing.T, c *ewsclient.Client) *ewsclient.Stream {
	t.Helper()
	s, err := c.GetStreamingEvents(context.Background(), ewsclient.Call{Anchor: "alice@contoso.com"}, ewsclient.StreamRequest{SubscriptionIds: []string{"s1"}})
	if err != nil {
		t.Fatalf("GetStreamingEvents() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestHostileStreams: every broken stream ends in a clear error, never a
// hang, a panic or unbounded memory.
func TestHostileStreams(t *testing.T) {
	env := func(body string) []byte {
		return []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + body + `</s:Body></s:Envelope>`)
	}
	streamResp := `<m:GetStreamingEventsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>`
	tests := []struct {
		name  string
		parts [][]byte
		check func(error) bool
	}{
		{"truncated", [][]byte{heartbeat(), heartbeat()[:150]}, func(err error) bool {
			return err != nil && !errors.Is(err, io.EOF) && strings.Contains(err.Error(), "unexpected EOF")
		}},
		{"invalid utf-8", [][]byte{heartbeat(), env(streamResp + "<m:GetStreamingEventsResponseMessage ResponseClass=\"Success\"><m:MessageText>\xff\xfe</m:MessageText></m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse>")},
			func(err error) bool {
				return errors.As(err, new(*ews.ProtocolError)) && strings.Contains(err.Error(), "UTF-8")
			}},
		{"deep nesting", [][]byte{heartbeat(), env(streamResp + strings.Repeat("<a>", 5000))},
			func(err error) bool { return errors.Is(err, ewswire.ErrTooDeep) }},
		{"wrong namespace", [][]byte{heartbeat(), bytes.ReplaceAll(heartbeat(), []byte("http://schemas.xmlsoap.org"), []byte("https://schemas.xmlsoap.org"))},
			func(err error) bool {
				return errors.As(err, new(*ews.ProtocolError)) && strings.Contains(err.Error(), "not a SOAP envelope")
			}},
		{"endless envelope", [][]byte{heartbeat(), env(streamResp + strings.Repeat("<m:x>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</m:x>", 300000))},
			func(err error) bool { return errors.Is(err, ewswire.ErrTooLarge) }},
		{"connection error envelope", [][]byte{heartbeat(), env(streamResp + `<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>x</m:MessageText><m:ResponseCode>ErrorExceededConnectionCount</m:ResponseCode></m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse>`)},
			func(err error) bool { return ews.IsCode(err, ews.ErrorExceededConnectionCount) && ews.Retryable(err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, streamServer(tt.parts, nil), &ewsclient.Options{MaxResponseBytes: 4 << 20})
			s := openStream(t, c)
			b, err := s.Next()
			if err != nil || b.Status != ews.ConnectionOK {
				t.Fatalf("first Next() = %+v, %v", b, err)
			}
			_, err = s.Next()
			if !tt.check(err) {
				t.Fatalf("second Next() = %#v (%v)", err, err)
			}
		})
	}
}

// TestStreamIdleWatchdog: a server that stops sending is detected after the
// idle timeout (driven by a fake clock) and reported as ErrStreamIdle.
func TestStreamIdleWatchdog(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := clientFor(t, streamServer([][]byte{heartbeat()}, func(r *http.Request) { <-r.Context().Done() }),
		&ewsclient.Options{Clock: clk, StreamIdleTimeout: 90 * time.Second})
	s := openStream(t, c)
	if b, err := s.Next(); err != nil || b.Status != ews.ConnectionOK {
		t.Fatalf("first Next() = %+v, %v", b, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Next()
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		clk.Advance(91 * time.Second)
		select {
		case err := <-done:
			var ne *ews.NetworkError
			if !errors.Is(err, ewsclient.ErrStreamIdle) || !errors.As(err, &ne) || !ews.Retryable(err) {
				t.Fatalf("Next() after silence = %#v", err)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle watchdog did not end the stream")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

func TestStreamOpenErrors(t *testing.T) {
	c := clientFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_ = ewswire.EncodeFault(w, ewswire.NewFault(ews.ErrorExceededConnectionCount, "too many", nil))
	}), nil)
	_, err := c.GetStreamingEvents(context.Background(), ewsclient.Call{}, ewsclient.StreamRequest{SubscriptionIds: []string{"s1"}})
	if !ews.IsCode(err, ews.ErrorExceededConnectionCount) {
		t.Fatalf("GetStreamingEvents(fault) = %v", err)
	}
	for _, req := range []ewsclient.StreamRequest{
		{},
		{SubscriptionIds: make([]string, 201)},
		{SubscriptionIds: []string{"s"}, ConnectionTimeoutMinutes: 31},
		{SubscriptionIds: []string{""}},
	} {
		if _, err := c.GetStreamingEvents(context.Background(), ewsclient.Call{}, req); err == nil {
			t.Errorf("GetStreamingEvents(%d ids, %d min) = nil error", len(req.SubscriptionIds), req.ConnectionTimeoutMinutes)
		}
	}
}

// TestStreamExchangeForm reads the m:Notification / m:SubscriptionId form
// Exchange really writes.
func TestStreamExchangeForm(t *testing.T) {
	msg := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetStreamingEventsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>` +
		`<m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notifications><m:Notification><t:SubscriptionId>s1</t:SubscriptionId><t:CreatedEvent><t:TimeStamp>2026-01-01T00:00:00Z</t:TimeStamp><t:ItemId Id="i" ChangeKey="k"/><t:ParentFolderId Id="f"/></t:CreatedEvent></m:Notification></m:Notifications></m:GetStreamingEventsResponseMessage>` +
		`<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>x</m:MessageText><m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:ErrorSubscriptionIds><m:SubscriptionId>s2</m:SubscriptionId></m:ErrorSubscriptionIds></m:GetStreamingEventsResponseMessage>` +
		`</m:ResponseMessages></m:GetStreamingEventsResponse></s:Body></s:Envelope>`
	c := clientFor(t, streamServer([][]byte{[]byte(msg)}, nil), nil)
	s := openStream(t, c)
	b, err := s.Next()
	if err != nil || len(b.Notifications) != 1 || b.Notifications[0].Events[0].ItemId.Id != "i" || len(b.Failed) != 1 || b.Failed[0].SubscriptionIds[0] != "s2" {
		t.Fatalf("Next() = %+v, %v", b, err)
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next() at end = %v, want io.EOF", err)
	}
}

// TestStreamContextCancel: cancelling the context the stream was opened
// with ends a blocked Next promptly.
func TestStreamContextCancel(t *testing.T) {
	c := clientFor(t, streamServer([][]byte{heartbeat()}, func(r *http.Request) { <-r.Context().Done() }), nil)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.GetStreamingEvents(ctx, ewsclient.Call{}, ewsclient.StreamRequest{SubscriptionIds: []string{"s1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Next()
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, ewsclient.ErrStreamIdle) {
			t.Fatalf("Next() after cancel = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next() did not return after the context was cancelled")
	}
}

// TestCancelWithCauseIsNotRetryable: a call or stream ended by its
// caller — a context cancelled with a cause, or Stream.Close — reports
// context.Canceled (not retryable), never a retryable network error.
func TestCancelWithCauseIsNotRetryable(t *testing.T) {
	shutdown := errors.New("shutting down")
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) || ews.Retryable(err) || errors.As(err, new(*ews.NetworkError)) {
			t.Errorf("%s = %#v (%v), want context.Canceled, not retryable", what, err, err)
		}
	}
	stall := func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	c := clientFor(t, http.HandlerFunc(stall), nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(shutdown) })
	check("Unsubscribe(cancelled with cause)", c.Unsubscribe(ctx, ewsclient.Call{}, "sub"))

	sc := clientFor(t, streamServer([][]byte{heartbeat(), heartbeat()[:100]}, func(r *http.Request) { <-r.Context().Done() }), nil)
	next := func(s *ewsclient.Stream, end func()) error {
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(50*time.Millisecond, end)
		_, err := s.Next()
		return err
	}
	ctx, cancel = context.WithCancelCause(context.Background())
	s, err := sc.GetStreamingEvents(ctx, ewsclient.Call{}, ewsclient.StreamRequest{SubscriptionIds: []string{"s1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("Next(cancelled with cause)", next(s, func() { cancel(shutdown) }))
	s2 := openStream(t, sc)
	check("Next(closed)", next(s2, func() { s2.Close() }))
}
