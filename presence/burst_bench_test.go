package presence_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/webhook"
)

// burstSource gives every user the same calendar: busy during every odd
// hour (09:00–10:00, 11:00–12:00, …), so every full hour flips all users
// at the same instant.
type burstSource struct {
	users []string
}

func (s *burstSource) Users(context.Context) ([]string, error) { return s.users, nil }

func (s *burstSource) Load(_ context.Context, user string, from, to time.Time) (presence.Input, error) {
	var occs []calendar.Occurrence
	first := from.Truncate(time.Hour)
	for t := first; t.Before(to); t = t.Add(time.Hour) {
		if t.Hour()%2 == 1 {
			occs = append(occs, calendar.Occurrence{ItemID: user + t.Format("/2006-01-02T15"), Start: t, End: t.Add(time.Hour),
				FreeBusy: calendar.Busy, IsMeeting: true, Response: calendar.ResponseAccept})
		}
	}
	return presence.Input{User: user, Occurrences: occs, Trusted: true, Location: time.UTC}, nil
}

// countingStore counts the presence documents saved through it and the
// time spent saving.
type countingStore struct {
	store.PresenceStore
	saved    atomic.Int64
	saveTime atomic.Int64 // nanoseconds
}

func (c *countingStore) SavePresence(ctx context.Context, smtp string, doc []byte) error {
	err := c.PresenceStore.SavePresence(ctx, smtp, doc)
	if err == nil {
		c.saved.Add(1)
	}
	return err
}

func (c *countingStore) SavePresences(ctx context.Context, docs map[string][]byte) error {
	start := time.Now()
	err := c.PresenceStore.SavePresences(ctx, docs)
	c.saveTime.Add(int64(time.Since(start)))
	if err == nil {
		c.saved.Add(int64(len(docs)))
	}
	return err
}

// BenchmarkTopOfHourBurst measures the wall time from the clock reaching
// a full hour, at which the meetings of all 10,000 users start or end, to
// the last of the 10,000 changes published (webhook message durable in
// the bolt outbox, SSE event received by a connected client) and its
// presence saved. The store is a real bolt file with fsync, the webhook
// dispatcher and the SSE hub are the real ones. One op = one burst of
// 10,000 changes. "batch" is the application's wiring (PublishBatch →
// api.PresencePublisher → events.Log.Publish: one outbox transaction, then
// one SavePresences); "per-change" publishes each change on its own (one
// outbox transaction per change; the saves are still one transaction).
func BenchmarkTopOfHourBurst(b *testing.B) {
	b.Run("batch", func(b *testing.B) { benchBurst(b, true) })
	b.Run("per-change", func(b *testing.B) { benchBurst(b, false) })
}

func benchBurst(b *testing.B, batch bool) {
	const users = 10000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bolt, err := boltstore.Open(filepath.Join(b.TempDir(), "calsync.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bolt.Close()
	dispatcher, err := webhook.New(webhook.Options{Outbox: bolt,
		Endpoints: []webhook.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1/hook", Secret: "s3cret"}}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2025, 11, 24, 8, 0, 0, 0, time.UTC)
	c := clock.NewFake(start)
	hub, err := events.NewLog(events.Options{Sinks: []events.Sink{dispatcher}, Clock: c, History: 2 * users, ClientBuffer: 2 * users})
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Close()
	handler, err := api.New(api.Options{Presence: apitest.NewPresence(), Events: hub})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/events")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var streamed atomic.Int64
	go func() {
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "event: "+api.EventPresenceChanged) {
				streamed.Add(1)
			}
		}
	}()
	waitFor := func(what string, n int64, counter *atomic.Int64) {
		deadline := time.Now().Add(5 * time.Minute)
		for counter.Load() < n {
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d of %d", what, counter.Load(), n)
			}
			time.Sleep(200 * time.Microsecond) // polling, benchmark only
		}
	}
	for hub.Subscribers() == 0 {
		time.Sleep(time.Millisecond) // polling, benchmark only
	}
	src := &burstSource{}
	for i := range users {
		src.users = append(src.users, fmt.Sprintf("user%05d@example.com", i))
	}
	counted := &countingStore{PresenceStore: bolt}
	var published, publishTime atomic.Int64
	rules, err := presence.CompileRuleSet(presence.RuleSet{})
	if err != nil {
		b.Fatal(err)
	}
	opts := presence.SchedulerOptions{Clock: c, Rules: rules, Source: src, Store: counted}
	if batch {
		opts.PublishBatch = func(cs []presence.Change) error {
			start := time.Now()
			if err := (api.PresencePublisher{Events: hub}).Publish(ctx, cs...); err != nil {
				b.Error(err)
			}
			publishTime.Add(int64(time.Since(start)))
			published.Add(int64(len(cs)))
			return nil
		}
	} else {
		opts.Publish = func(ch presence.Change) {
			start := time.Now()
			if err := (api.PresencePublisher{Events: hub}).Publish(ctx, ch); err != nil {
				b.Error(err)
			}
			publishTime.Add(int64(time.Since(start)))
			published.Add(1)
		}
	}
	s, err := presence.NewScheduler(opts)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// The first publication of every user happens at start, untimed.
	waitFor("saved", users, &counted.saved)
	waitFor("streamed", users, &streamed)
	want := int64(users)
	publishTime.Store(0)
	counted.saveTime.Store(0)
	b.ResetTimer()
	for range b.N {
		want += users
		c.Advance(time.Hour)
		waitFor("saved", want, &counted.saved)
		waitFor("streamed", want, &streamed)
	}
	b.StopTimer()
	if got := published.Load(); got != want {
		b.Fatalf("published %d changes, want %d", got, want)
	}
	stats, err := bolt.OutboxStats(ctx)
	if err != nil || stats["crm"].Pending != int(want) {
		b.Fatalf("outbox holds %+v (%v), want %d pending", stats, err, want)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/users, "µs/user")
	b.ReportMetric(float64(publishTime.Load())/1e6/float64(b.N), "publish-ms/op")
	b.ReportMetric(float64(counted.saveTime.Load())/1e6/float64(b.N), "save-ms/op")
}
