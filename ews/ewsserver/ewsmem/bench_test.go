package ewsmem_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

const benchMailboxes = 10000

func newBenchSim(b *testing.B) (*ewssim.Simulator, *httptest.Server) {
	b.Helper()
	unlimited := ewsmem.UnlimitedPolicy()
	sim, err := ewssim.New(ewssim.Options{Generate: true, Basic: true, Options: ewsmem.Options{Mailboxes: benchMailboxes, Servers: 4, Seed: 1, Policy: &unlimited}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	b.Cleanup(func() { srv.Close(); sim.Close() })
	return sim, srv
}

func benchClient(b *testing.B, sim *ewssim.Simulator, srv *httptest.Server) *ewsclient.Client {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: ewsclient.BasicAuth(&http.Client{Transport: tr}, sim.ServiceAccount(), "password")})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCalendarView measures CalendarView requests per second (one
// week, impersonating a different mailbox each time) over HTTP against a
// simulator with 10,000 generated mailboxes.
func BenchmarkCalendarView(b *testing.B) {
	sim, srv := newBenchSim(b)
	c := benchClient(b, sim, srv)
	start := time.Now().UTC().Truncate(24 * time.Hour)
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			user := fmt.Sprintf("user%d@example.com", 1+i%benchMailboxes)
			if _, err := c.CalendarView(context.Background(), ewsclient.Call{ActAs: ews.ImpersonateSMTP(user)}, ewsclient.CalendarViewRequest{Start: start, End: start.Add(7 * 24 * time.Hour)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkStreamingDelivery measures notification events delivered per
// second to 10 streaming connections of 100 subscriptions each while
// calendar items are created in those 1,000 mailboxes.
func BenchmarkStreamingDelivery(b *testing.B) {
	sim, srv := newBenchSim(b)
	c := benchClient(b, sim, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const conns, perConn = 10, 100
	var received atomic.Int64
	for k := 0; k < conns; k++ {
		var ids []string
		// One affinity group per connection: every subscription is made
		// through the group's anchor, so all live on the anchor's server.
		anchor := fmt.Sprintf("user%d@example.com", 1+k*perConn)
		for j := 0; j < perConn; j++ {
			user := fmt.Sprintf("user%d@example.com", 1+k*perConn+j)
			s, err := c.Subscribe(ctx, ewsclient.Call{ActAs: ews.ImpersonateSMTP(user), Anchor: anchor}, ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming,
				Folders: []ews.FolderRef{ews.CalendarFolder()}, EventTypes: []ews.EventType{ews.EventCreated}})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, s.Id)
		}
		st, err := c.GetStreamingEvents(ctx, ewsclient.Call{Anchor: anchor}, ewsclient.StreamRequest{SubscriptionIds: ids, ConnectionTimeoutMinutes: 30})
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			defer st.Close()
			for {
				batch, err := st.Next()
				if err != nil {
					return
				}
				for _, n := range batch.Notifications {
					received.Add(int64(len(n.Events)))
				}
			}
		}()
	}
	start := time.Now().UTC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		user := fmt.Sprintf("user%d@example.com", 1+i%(conns*perConn))
		if _, err := sim.AddCalendarItem(user, ews.CalendarItem{Subject: "bench", Start: start, End: start.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if got := received.Load(); got < int64(b.N) {
		b.Fatalf("received %d of %d events", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMemoryPerMailbox reports the heap held per generated mailbox.
func BenchmarkMemoryPerMailbox(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		x, err := ewssim.New(ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: benchMailboxes, Seed: 1}})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/benchMailboxes, "bytes/mailbox")
		runtime.KeepAlive(x)
		x.Close()
	}
}

// BenchmarkBackendCalendarView measures the backend alone (no HTTP, no XML):
// a one-week CalendarView of a different generated mailbox each call.
func BenchmarkBackendCalendarView(b *testing.B) {
	unlimited := ewsmem.UnlimitedPolicy()
	x, err := ewssim.New(ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: benchMailboxes, Seed: 1, Policy: &unlimited}})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	start := time.Now().UTC().Truncate(24 * time.Hour)
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			user := fmt.Sprintf("user%d@example.com", 1+i%benchMailboxes)
			c := &ewsserver.Caller{Account: x.ServiceAccount(), Impersonation: ews.ImpersonateSMTP(user), AnchorMailbox: user, Operation: "FindItem"}
			release, err := x.Admit(context.Background(), c)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := x.FindItem(context.Background(), c, ewsserver.FindItemRequest{Folder: ews.CalendarFolder(),
				CalendarView: &ewsserver.CalendarViewRequest{Start: start, End: start.Add(7 * 24 * time.Hour), MaxEntries: 1000, MaxGiven: true}}); err != nil {
				b.Error(err)
			}
			release()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
