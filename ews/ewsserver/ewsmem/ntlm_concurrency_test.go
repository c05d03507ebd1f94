package ewsmem_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// TestNTLMUnderConcurrency: many concurrent calls over NTLM never see a
// 401 for a correct password. NTLM authenticates a connection and the
// simulator, like IIS, accepts the AUTHENTICATE message only on the
// connection that got the CHALLENGE; a client whose handshake straddles
// two pooled connections fails here. The number of TCP connections stays
// within the transport's MaxConnsPerHost: authenticated connections are
// reused.
func TestNTLMUnderConcurrency(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Generate: true, NTLM: true,
		Options: ewsmem.Options{Mailboxes: 4, Servers: 1, Seed: 3, Password: "Passw0rd!"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sim)
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer func() { srv.Close(); sim.Close() }()

	const maxConns = 8
	hc, err := ewsclient.NTLMAuth(&http.Transport{MaxConnsPerHost: maxConns}, sim.ServiceAccount(), "Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: hc, Version: ews.Exchange2016})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now().UTC().Truncate(time.Hour)
	var wg sync.WaitGroup
	var failures atomic.Int64
	var firstErr atomic.Value
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				user := []string{"user1@example.com", "user2@example.com", "user3@example.com", "user4@example.com"}[(g+i)%4]
				_, err := client.CalendarView(ctx, ewsclient.Call{ActAs: ews.ImpersonateSMTP(user)},
					ewsclient.CalendarViewRequest{Start: now, End: now.Add(48 * time.Hour)})
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of 192 concurrent NTLM calls failed; first: %v", n, firstErr.Load())
	}
	if n := conns.Load(); n > maxConns {
		t.Errorf("%d TCP connections opened, want at most MaxConnsPerHost=%d (authenticated connections reused)", n, maxConns)
	}
}
