package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// nextEvent reads one event with a deadline.
func nextEvent(t *testing.T, s *apiclient.EventStream) apiclient.Event {
	t.Helper()
	type res struct {
		ev  apiclient.Event
		err error
	}
	ch := make(chan res, 1)
	go func() {
		ev, err := s.Next()
		ch <- res{ev, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Next: %v", r.err)
		}
		return r.ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no event within 10s")
	}
	return apiclient.Event{}
}

func openEvents(t *testing.T, e *env, lastID string, users ...string) *apiclient.EventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	before := e.log.Subscribers()
	s, err := e.client.Events(ctx, lastID, users...)
	if err != nil {
		cancel()
		t.Fatalf("Events: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		s.Close()
		testenv.WaitFor(t, "the client to leave", func() bool { return e.log.Subscribers() <= before })
	})
	testenv.WaitFor(t, "the client to subscribe", func() bool { return e.log.Subscribers() > before })
	return s
}

func publishPresence(t *testing.T, e *env, user string, a presence.Availability) uint64 {
	t.Helper()
	c := e.presence.Set(presence.Presence{User: user, Availability: a, ComputedAt: e.clock.Now(), Why: presence.Reason{Source: "calendar"}}, e.clock.Now())
	if err := (api.PresencePublisher{Events: e.log}).Publish(context.Background(), c); err != nil {
		t.Fatalf("PublishPresence: %v", err)
	}
	return e.log.LastID()
}

func TestEventStreamDeliversPresenceChanges(t *testing.T) {
	e := newEnv(t, envConfig{tokens: []string{"tok"}})
	s := openEvents(t, e, "")
	id1 := publishPresence(t, e, "bob@example.com", presence.Busy)
	ev := nextEvent(t, s)
	if ev.Type != api.EventPresenceChanged || ev.ID != strconv.FormatUint(id1, 10) {
		t.Fatalf("event = %+v, want presence.changed id %d", ev, id1)
	}
	var payload api.PresenceChangedEvent
	if err := json.Unmarshal([]byte(ev.Data), &payload); err != nil {
		t.Fatalf("payload %q: %v", ev.Data, err)
	}
	if payload.User != "bob@example.com" || payload.Current.Availability != "busy" || payload.Previous == nil || payload.Previous.Availability != "available" {
		t.Errorf("payload = %+v, want bob available -> busy", payload)
	}

	health, err := api.SyncHealthEvent(store.MailboxStatus{SMTP: "carol@example.com", State: "denied", ConsecutiveFailures: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.log.Publish(context.Background(), []events.Event{health}); err != nil {
		t.Fatalf("publishing sync.health: %v", err)
	}
	ev = nextEvent(t, s)
	id2, _ := strconv.ParseUint(ev.ID, 10, 64)
	if ev.Type != api.EventSyncHealth || id2 != id1+1 || !strings.Contains(ev.Data, `"healthy":false`) {
		t.Errorf("event = %+v, want sync.health with id %d", ev, id1+1)
	}

	hooks := e.hooks.Events()
	if len(hooks) != 2 || hooks[0].Type != api.EventPresenceChanged || hooks[0].Key != "bob@example.com" || hooks[1].Type != api.EventSyncHealth || hooks[1].Key != "carol@example.com" {
		t.Fatalf("webhook sink got %+v, want presence.changed for bob and sync.health for carol", hooks)
	}
	if string(hooks[0].Payload) != firstData(t, e, id1) {
		t.Errorf("webhook payload differs from the stream's event data")
	}
}

// firstData reads the event with id by resuming just before it.
func firstData(t *testing.T, e *env, id uint64) string {
	t.Helper()
	s := openEvents(t, e, strconv.FormatUint(id-1, 10))
	return nextEvent(t, s).Data
}

func TestEventStreamResumesWithLastEventID(t *testing.T) {
	e := newEnv(t, envConfig{})
	s := openEvents(t, e, "")
	publishPresence(t, e, "alice@example.com", presence.Available)
	seen := nextEvent(t, s)
	s.Close()
	testenv.WaitFor(t, "the client to leave", func() bool { return e.log.Subscribers() == 0 })

	// Missed while disconnected:
	missed := []uint64{
		publishPresence(t, e, "bob@example.com", presence.Busy),
		publishPresence(t, e, "carol@example.com", presence.Available),
	}
	r := openEvents(t, e, seen.ID)
	for _, want := range missed {
		ev := nextEvent(t, r)
		if ev.ID != strconv.FormatUint(want, 10) {
			t.Fatalf("resumed event id = %s, want %d (only the missed events, in order)", ev.ID, want)
		}
	}
	live := publishPresence(t, e, "alice@example.com", presence.Tentative)
	if ev := nextEvent(t, r); ev.ID != strconv.FormatUint(live, 10) {
		t.Errorf("after the replay, event id = %s, want the live %d", ev.ID, live)
	}
}

func TestEventStreamFirstConnectionFromListEventID(t *testing.T) {
	e := newEnv(t, envConfig{})
	list, err := e.client.Users(context.Background(), apiclient.ListUsersOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after := publishPresence(t, e, "bob@example.com", presence.Busy)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events?last_event_id="+strconv.FormatUint(list.EventID, 10), nil)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if id := readRawEventID(t, bufio.NewReader(resp.Body)); id != strconv.FormatUint(after, 10) {
		t.Errorf("first event = %s, want %d (published between the list and the stream)", id, after)
	}
}

func readRawEventID(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v", err)
		}
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "id: "); ok {
			return id
		}
	}
}

func TestEventStreamResetWhenResumePointIsGone(t *testing.T) {
	e := newEnv(t, envConfig{history: 4})
	first := publishPresence(t, e, "bob@example.com", presence.Busy)
	for range 6 {
		publishPresence(t, e, "bob@example.com", presence.Available)
	}
	tests := []struct {
		name   string
		lastID string
	}{
		{"evicted from the ring", strconv.FormatUint(first, 10)},
		{"from the future (another process)", strconv.FormatUint(e.log.LastID()+100, 10)},
		{"from an older process", "17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openEvents(t, e, tt.lastID)
			ev := nextEvent(t, s)
			if ev.Type != api.EventStreamReset || ev.ID != strconv.FormatUint(e.log.LastID(), 10) {
				t.Errorf("event = %+v, want stream.reset carrying the current id %d", ev, e.log.LastID())
			}
		})
	}
	t.Run("still buffered", func(t *testing.T) {
		s := openEvents(t, e, strconv.FormatUint(e.log.LastID()-2, 10))
		if ev := nextEvent(t, s); ev.Type != api.EventPresenceChanged || ev.ID != strconv.FormatUint(e.log.LastID()-1, 10) {
			t.Errorf("event = %+v, want the buffered presence.changed %d", ev, e.log.LastID()-1)
		}
	})
	t.Run("malformed id", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/events", nil)
		req.Header.Set("Last-Event-ID", "abc")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Last-Event-ID abc = %d, want 400", resp.StatusCode)
		}
	})
}

func TestEventStreamHeartbeat(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events", nil)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	testenv.WaitFor(t, "the heartbeat timer", func() bool { return e.clock.PendingTimers() == 1 })
	e.clock.Advance(15 * time.Second)
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v", err)
		}
		if line == ": heartbeat\n" {
			return
		}
	}
}

func TestWebhookFailureStillPublishes(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.hooks.Err = store.ErrClosed
	s := openEvents(t, e, "")
	c := e.presence.Set(presence.Presence{User: "bob@example.com", Availability: presence.Busy}, t0)
	err := api.PresencePublisher{Events: e.log}.Publish(context.Background(), c)
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("PublishPresence error = %v, want the webhook failure", err)
	}
	if ev := nextEvent(t, s); ev.Type != api.EventPresenceChanged {
		t.Errorf("event = %+v, want presence.changed despite the webhook failure", ev)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	e := newEnv(t, envConfig{})
	s := openEvents(t, e, "")
	e.log.Close()
	if _, err := s.Next(); err == nil {
		t.Errorf("Next after Close = nil error, want the stream to end")
	}
	resp, _ := e.do(t, http.MethodGet, "/api/v1/events", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a new stream after Close = %d, want 503", resp.StatusCode)
	}
}

func TestEventStreamUserFilter(t *testing.T) {
	e := newEnv(t, envConfig{})
	start := strconv.FormatUint(e.log.LastID(), 10)
	s := openEvents(t, e, "", "Bob@Example.com", "carol@example.com")
	publishPresence(t, e, "alice@example.com", presence.Busy)
	bob := publishPresence(t, e, "bob@example.com", presence.Busy)
	note, err := events.NewEvent("note", "", map[string]string{"for": "everyone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.log.Publish(context.Background(), []events.Event{note}); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, s); ev.ID != strconv.FormatUint(bob, 10) {
		t.Errorf("filtered stream: first event %s, want bob's %d (alice's is filtered out)", ev.ID, bob)
	}
	if ev := nextEvent(t, s); ev.Type != "note" {
		t.Errorf("filtered stream: second event %+v, want the unkeyed note", ev)
	}
	// Replay honours the filter too.
	r := openEvents(t, e, start, "alice@example.com")
	if ev := nextEvent(t, r); !strings.Contains(ev.Data, `"user":"alice@example.com"`) {
		t.Errorf("filtered replay: first event %+v, want alice's", ev)
	}
	if ev := nextEvent(t, r); ev.Type != "note" {
		t.Errorf("filtered replay: second event %+v, want the note (bob's is filtered out)", ev)
	}
}
