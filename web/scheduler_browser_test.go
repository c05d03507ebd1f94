package web_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
	"github.com/calsync/calsync/web"
)

// storeSource feeds the presence scheduler from the store, as the app does.
type storeSource struct {
	st    *memstore.Store
	users []string
}

func (s storeSource) Users(ctx context.Context) ([]string, error) { return s.users, nil }

func (s storeSource) Load(ctx context.Context, user string, from, to time.Time) (presence.Input, error) {
	occs, err := s.st.Occurrences(ctx, user, from, to)
	if err != nil {
		return presence.Input{}, err
	}
	return presence.Input{User: user, Occurrences: occs, Trusted: true, Window: calendar.Window{Start: from, End: to}}, nil
}

// TestDashboardLiveAfterCalendarChange runs the real pipeline after the
// sync engine: a calendar change committed to the store, the presence
// scheduler re-planning and firing, the event hub, the browser.
func TestDashboardLiveAfterCalendarChange(t *testing.T) {
	ctx0 := context.Background()
	st := memstore.New()
	now := time.Now().UTC()
	window := calendar.Window{Start: now.Add(-48 * time.Hour), End: now.Add(15 * 24 * time.Hour)}
	users := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	for _, u := range users {
		if err := st.CommitWindow(ctx0, u, store.WindowCommit{Checkpoint: store.Checkpoint{Window: window}}); err != nil {
			t.Fatalf("CommitWindow(%s): %v", u, err)
		}
	}
	rules, err := presence.CompileRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	hub, err := events.NewLog(events.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx0)
	sched, err := presence.NewScheduler(presence.SchedulerOptions{
		Clock: clock.Real{}, Rules: rules, Source: storeSource{st: st, users: users}, Store: st,
		PublishBatch: api.PresencePublisher{Events: hub}.PublishBatch,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sched.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		<-done
		hub.Close()
	})
	h, err := api.New(api.Options{Presence: sched, Overrides: sched, DryRun: sched, Agenda: st, Events: hub,
		Tokens: []string{browserToken}, Dashboard: web.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	deadline := time.Now().Add(30 * time.Second)
	for {
		p, ok := sched.Current("alice@example.com")
		if ok && p.Availability == presence.Available {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler did not plan alice: %+v", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	page := openDashboard(t, srv.URL+"/")
	page.waitJS("alice available", `document.querySelector('tr[data-user="alice@example.com"] .avail') ? document.querySelector('tr[data-user="alice@example.com"] .avail').textContent : ''`, "Available")
	page.waitJS("the live stream", `document.getElementById('live').textContent`, "live")
	for hub.Subscribers() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard did not subscribe to the event stream")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The calendar changes: a meeting that began a minute ago.
	now = time.Now().UTC()
	meeting := calendar.Occurrence{ItemID: "m1", Kind: calendar.KindSingle, Subject: "Quarterly planning", Start: now.Add(-time.Minute), End: now.Add(45 * time.Minute),
		FreeBusy: calendar.Busy, Sensitivity: calendar.Normal, Response: calendar.ResponseAccept, IsMeeting: true}
	if err := st.CommitWindow(ctx0, "alice@example.com", store.WindowCommit{Occurrences: []calendar.Occurrence{meeting}, Checkpoint: store.Checkpoint{Window: window}}); err != nil {
		t.Fatal(err)
	}
	sched.CalendarChanged("alice@example.com")

	page.waitJS("the meeting in alice's row", `(() => { const r = document.querySelector('tr[data-user="alice@example.com"]');
		return r ? r.querySelector('.avail').textContent + '|' + r.querySelector('.status-text').textContent.startsWith('In a meeting until ') + '|' + r.querySelector('.why').textContent : ''; })()`,
		"Busy|true|Calendar · rule “meeting” · Quarterly planning")
	p, _ := sched.Current("alice@example.com")
	page.waitJS("the scheduler's status text", `document.querySelector('tr[data-user="alice@example.com"] .status-text').textContent`, p.StatusText)
	if !strings.HasPrefix(p.StatusText, "In a meeting until") {
		t.Errorf("scheduler status text = %q", p.StatusText)
	}
}
