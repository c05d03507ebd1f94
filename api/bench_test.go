package api_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// BenchmarkListUsers measures one page of the user list over 10,000 users
// with presence and sync status (filter, sort, page, encode).
func BenchmarkListUsers(b *testing.B) {
	for _, query := range []string{"limit=100", "limit=100&q=user-09&availability=busy"} {
		b.Run(query, func(b *testing.B) {
			p := apitest.NewPresence()
			s := apitest.NewSync()
			for i := range 10000 {
				user := fmt.Sprintf("user-%05d@example.com", i)
				a := presence.Available
				if i%3 == 0 {
					a = presence.Busy
				}
				p.Set(presence.Presence{User: user, Availability: a, StatusText: "In a meeting until 15:00", Why: presence.Reason{Source: "calendar", Rule: "meetings"}}, t0)
				s.Set(store.MailboxStatus{SMTP: user, State: "live", Group: "g"})
			}
			h, err := api.New(api.Options{Presence: p, Sync: s})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/api/v1/users?"+query, nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkEventStreamDelivery measures one presence change delivered over
// HTTP to 10 connected event-stream clients: it publishes in rounds of 100
// events and waits until every client has read them all.
func BenchmarkEventStreamDelivery(b *testing.B) {
	const clients, round = 10, 100
	log, err := events.NewLog(events.Options{ClientBuffer: 4 * round})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	h, _ := api.New(api.Options{Presence: apitest.NewPresence(), Events: log})
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var received atomic.Int64
	for range clients {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "id: ") {
					received.Add(1)
				}
			}
		}()
	}
	for log.Subscribers() < clients {
		time.Sleep(time.Millisecond)
	}
	change := presence.Change{User: "alice@example.com", Current: presence.Presence{User: "alice@example.com", Availability: presence.Busy, StatusText: "In a meeting until 15:00"}, At: t0}
	b.ReportAllocs()
	var sent int64
	for b.Loop() {
		if err := (api.PresencePublisher{Events: log}).Publish(ctx, change); err != nil {
			b.Fatal(err)
		}
		sent++
		if sent%round == 0 {
			for received.Load() < sent*clients {
				if log.Subscribers() < clients {
					b.Fatalf("a client was dropped")
				}
				runtime.Gosched()
			}
		}
	}
}
