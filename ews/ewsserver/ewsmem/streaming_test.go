package ewsmem_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
	"github.com/calsync/calsync/internal/testenv"
)

func (e *wireEnv) subscribeStreaming(user string, header ...string) string {
	e.t.Helper()
	h := append([]string{"X-AnchorMailbox", user}, header...)
	_, data := e.post(envelope("Exchange2013_SP1", user, `<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>`), h...)
	ewsschema.Validate(e.t, "Subscribe streaming", data)
	var r ewswire.SubscribeResponse
	decode(e.t, data, &r)
	m := r.ResponseMessages.Messages[0]
	if m.SubscriptionId == "" {
		e.t.Fatalf("streaming Subscribe = %+v", m)
	}
	return m.SubscriptionId
}

// stream opens GetStreamingEvents and delivers envelopes on a channel; the
// raw body is returned by the done function.
func (e *wireEnv) stream(impersonate, anchor string, ids ...string) (<-chan *ewswire.GetStreamingEventsResponseMessage, func() []byte) {
	e.t.Helper()
	var idXML string
	for _, id := range ids {
		idXML += "<t:SubscriptionId>" + id + "</t:SubscriptionId>"
	}
	body := envelope("Exchange2013_SP1", impersonate, `<m:GetStreamingEvents><m:SubscriptionIds>`+idXML+`</m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/EWS/Exchange.asmx", strings.NewReader(body))
	req.SetBasicAuth(e.sim.ServiceAccount(), "password")
	if anchor != "" {
		req.Header.Set("X-AnchorMailbox", anchor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		data, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("GetStreamingEvents HTTP %d: %s", resp.StatusCode, data)
	}
	var raw bytes.Buffer
	out := make(chan *ewswire.GetStreamingEventsResponseMessage, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		defer resp.Body.Close()
		sr := ewswire.NewStreamReader(io.TeeReader(resp.Body, &raw), ewswire.DefaultLimits)
		for {
			env, err := sr.Next()
			if err != nil {
				return
			}
			r, ok := env.Body.(*ewswire.GetStreamingEventsResponse)
			if !ok {
				return
			}
			for i := range r.ResponseMessages.Messages {
				out <- &r.ResponseMessages.Messages[i]
			}
		}
	}()
	return out, func() []byte { <-done; return raw.Bytes() }
}

func next(t *testing.T, ch <-chan *ewswire.GetStreamingEventsResponseMessage) *ewswire.GetStreamingEventsResponseMessage {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("stream ended early")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no streaming envelope within 10s")
	}
	return nil
}

func TestStreamingConnection(t *testing.T) {
	// The schema form, so that the whole stream can be validated.
	e := newWireEnv(t, ewssim.Options{Basic: true, SchemaNotificationNamespace: true, Options: ewsmem.Options{NoDuplicates: true}})
	user := "user1@example.com"
	id := e.subscribeStreaming(user)
	ch, raw := e.stream(user, user, id)
	if m := next(t, ch); m.ConnectionStatus != "OK" {
		t.Fatalf("first envelope = %+v, want ConnectionStatus OK", m)
	}
	if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "new", Start: t0, End: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	m := next(t, ch)
	ns := m.Notifications.All()
	if len(ns) != 1 || ns[0].SubscriptionId != id || len(ns[0].Events) == 0 || ns[0].Events[0].Type != "CreatedEvent" {
		t.Fatalf("notification envelope = %+v", m)
	}
	// Heartbeat after 45 s of fake time, Closed at the 1-minute lifetime.
	testenv.WaitFor(t, "stream timer", func() bool { return e.clock.PendingTimers() > 0 })
	e.clock.Advance(45 * time.Second)
	if m := next(t, ch); m.ConnectionStatus != "OK" {
		t.Fatalf("heartbeat = %+v", m)
	}
	testenv.WaitFor(t, "stream timer", func() bool { return e.clock.PendingTimers() > 0 })
	e.clock.Advance(15 * time.Second)
	if m := next(t, ch); m.ConnectionStatus != "Closed" {
		t.Fatalf("last envelope = %+v, want Closed", m)
	}
	ewsschema.Validate(t, "GetStreamingEvents", raw())
}

func TestStreamingErrors(t *testing.T) {
	p := ewsmem.DefaultPolicy()
	p.HangingConnectionLimit = 1
	e := newWireEnv(t, ewssim.Options{Basic: true, Options: ewsmem.Options{StreamingQueue: 5, Policy: &p, Servers: 2, Mailboxes: 4}})
	user := "user1@example.com"
	id := e.subscribeStreaming(user)

	// Unknown id and a pull id on one connection: error envelope, then
	// the valid id keeps streaming.
	ch, raw := e.stream(user, user, id, "AAAA")
	first, second := next(t, ch), next(t, ch)
	if first.ResponseCode != string(ews.ErrorInvalidSubscription) || len(first.ErrorSubscriptionIds.All()) != 1 {
		t.Errorf("error envelope = %+v", first)
	}
	if second.ConnectionStatus != "OK" {
		t.Errorf("after errors = %+v, want OK", second)
	}
	// A second connection for the same budget exceeds the limit of 1.
	status, data := e.post(envelope("Exchange2013_SP1", user, `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>`+id+`</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`), "X-AnchorMailbox", user)
	ewsschema.Validate(t, "GetStreamingEvents over limit", data)
	var r ewswire.GetStreamingEventsResponse
	decode(t, data, &r)
	if status != 200 || r.ResponseMessages.Messages[0].ResponseCode != string(ews.ErrorExceededConnectionCount) {
		t.Errorf("second connection = HTTP %d %+v", status, r.ResponseMessages.Messages)
	}
	// Overflow the 5-event queue while the connection is silent.
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultSilentStreams}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "burst", Start: t0, End: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultClear}); err != nil {
		t.Fatal(err)
	}
	m := next(t, ch)
	if m.ResponseCode != string(ews.ErrorMissedNotificationEvents) {
		t.Errorf("after overflow = %+v", m)
	}
	// Dropping the connection ends the body without Closed.
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultDropStreams}); err != nil {
		t.Fatal(err)
	}
	for m := range ch {
		if m.ConnectionStatus == "Closed" {
			t.Errorf("dropped stream sent Closed")
		}
	}
	body := raw()
	if i := bytes.LastIndex(body, []byte("</s:Envelope>")); i > 0 {
		ewsschema.Validate(t, "GetStreamingEvents errors", body[:i+len("</s:Envelope>")])
	}
}

func TestAffinity(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true, Options: ewsmem.Options{Servers: 3, Mailboxes: 6, Seed: 7}})
	anchor := "user1@example.com"
	// The anchor's Subscribe with X-PreferServerAffinity sets the cookie.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/EWS/Exchange.asmx", strings.NewReader(envelope("Exchange2013_SP1", anchor,
		`<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>`)))
	req.SetBasicAuth(e.sim.ServiceAccount(), "password")
	req.Header.Set("X-AnchorMailbox", anchor)
	req.Header.Set("X-PreferServerAffinity", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "X-BackEndOverrideCookie" {
			cookie = c
		}
	}
	server, _ := e.sim.MailboxServer(anchor)
	if cookie == nil || !strings.HasPrefix(cookie.Value, server+"~") {
		t.Fatalf("affinity cookie = %v, want %s~…", cookie, server)
	}
	// user2 lives on another server; subscribed with the cookie, its id is
	// bound to the anchor's server.
	other := "user2@example.com"
	if s, _ := e.sim.MailboxServer(other); s == server {
		t.Fatalf("test needs user2 on another server")
	}
	id := e.subscribeStreaming(other, "X-PreferServerAffinity", "true", "Cookie", "X-BackEndOverrideCookie="+cookie.Value)
	// Without affinity headers the request lands on random back ends:
	// some of them fail with ErrorSubscriptionNotFound.
	// (GetEvents on a streaming id answers ErrorInvalidPullSubscriptionId
	// when it reaches the right server.)
	codes := map[string]int{}
	for i := 0; i < 30; i++ {
		_, data := e.post(envelope("Exchange2013_SP1", other, `<m:GetEvents><m:SubscriptionId>`+id+`</m:SubscriptionId><m:Watermark>AQAAAA==</m:Watermark></m:GetEvents>`))
		var r ewswire.GetEventsResponse
		decode(t, data, &r)
		codes[r.ResponseMessages.Messages[0].ResponseCode]++
	}
	if codes[string(ews.ErrorSubscriptionNotFound)] == 0 || codes[string(ews.ErrorInvalidPullSubscriptionId)] == 0 {
		t.Errorf("GetEvents without affinity = %v, want a mix of ErrorSubscriptionNotFound and ErrorInvalidPullSubscriptionId", codes)
	}
	// A proxied call (anchor of another server) fails while proxying is
	// broken.
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultProxyFailure}); err != nil {
		t.Fatal(err)
	}
	third := "user3@example.com"
	if s, _ := e.sim.MailboxServer(third); s == server {
		t.Fatalf("test needs user3 on another server than user1")
	}
	_, data := e.post(envelope("Exchange2013_SP1", other, `<m:Unsubscribe><m:SubscriptionId>`+id+`</m:SubscriptionId></m:Unsubscribe>`), "X-AnchorMailbox", third)
	var pf ewswire.UnsubscribeResponse
	decode(t, data, &pf)
	if c := pf.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorProxiedSubscriptionCallFailure) {
		t.Errorf("Unsubscribe via a broken proxy = %s", c)
	}
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultClear}); err != nil {
		t.Fatal(err)
	}
	// With the anchor header the subscription is found and removed.
	_, data = e.post(envelope("Exchange2013_SP1", other, `<m:Unsubscribe><m:SubscriptionId>`+id+`</m:SubscriptionId></m:Unsubscribe>`), "X-AnchorMailbox", anchor)
	var r ewswire.UnsubscribeResponse
	decode(t, data, &r)
	if c := r.ResponseMessages.Messages[0].ResponseCode; c != "NoError" {
		t.Errorf("Unsubscribe with affinity = %s", c)
	}
}

// A mailbox moved to the cloud loses its EWS subscriptions; a streaming
// connection carrying one of them says so (ErrorSubscriptionNotFound with
// its id) instead of falling silent for it, and goes on for the others.
func TestStreamReportsTheSubscriptionOfAMovedMailbox(t *testing.T) {
	t.Run("to the cloud", func(t *testing.T) {
		testStreamReportsMovedSubscription(t, func(e *wireEnv, moved string) error {
			return e.sim.StartMove(moved, ewsmem.Cloud, 0, nil)
		})
	})
	// A move between mailbox servers while the connection is open: its
	// other subscription still gets events and heartbeats, so a silent
	// loss would go unnoticed until the client reconnects.
	t.Run("to another mailbox server", func(t *testing.T) {
		testStreamReportsMovedSubscription(t, func(e *wireEnv, moved string) error {
			_, n, err := e.sim.MoveMailbox(moved, "")
			if err == nil && n != 1 {
				err = fmt.Errorf("MoveMailbox dropped %d subscriptions, want 1", n)
			}
			return err
		})
	})
}

func testStreamReportsMovedSubscription(t *testing.T, move func(e *wireEnv, moved string) error) {
	e := newWireEnv(t, ewssim.Options{Basic: true, Options: ewsmem.Options{Mailboxes: 3}})
	stay, moved := "user1@example.com", "user2@example.com"
	keep := e.subscribeStreaming(stay)
	gone := e.subscribeStreaming(moved)
	ch, raw := e.stream(stay, stay, keep, gone)
	t.Cleanup(e.sim.Close) // ends the stream (its 1-minute timeout is on a fake clock) when the test fails early
	if m := next(t, ch); m.ConnectionStatus != "OK" {
		t.Fatalf("first envelope = %+v, want ConnectionStatus OK", m)
	}
	if err := move(e, moved); err != nil {
		t.Fatal(err)
	}
	m := next(t, ch)
	if ids := m.ErrorSubscriptionIds.All(); m.ResponseCode != string(ews.ErrorSubscriptionNotFound) || len(ids) != 1 || ids[0] != gone {
		t.Fatalf("after the move = %+v, want ErrorSubscriptionNotFound for %s", m, gone)
	}
	if _, err := e.sim.AddCalendarItem(stay, ews.CalendarItem{Subject: "still streamed", Start: t0, End: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ns := next(t, ch).Notifications.All(); len(ns) != 1 || ns[0].SubscriptionId != keep {
		t.Fatalf("the other subscription's notification = %+v", ns)
	}
	e.sim.Close()
	body := raw()
	if i := bytes.LastIndex(body, []byte("</s:Envelope>")); i > 0 {
		ewsschema.Validate(t, "GetStreamingEvents after a move", body[:i+len("</s:Envelope>")])
	}
}
