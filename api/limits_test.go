package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
)

// shortLimits make the server's deadlines observable within a test.
var shortLimits = api.Limits{ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}

// serveLimited serves h through api.NewServer on a loopback port.
func serveLimited(t *testing.T, h http.Handler, limits api.Limits) string {
	t.Helper()
	ln := mustListen(t)
	srv := api.NewServer(h, limits, nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func limitedAPI(t *testing.T, stream api.EventStream, heartbeat time.Duration) http.Handler {
	t.Helper()
	h, err := api.New(api.Options{Presence: apitest.NewPresence(), Events: stream, EventHeartbeat: heartbeat})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// closedByServer reads conn until the server closes it; it fails the test
// if the connection is still open after 10 s.
func closedByServer(t *testing.T, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the connection open")
	}
}

func TestServerCutsOffATricklingBody(t *testing.T) {
	addr := serveLimited(t, limitedAPI(t, nil, 0), shortLimits)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Announce 200 KB and send one byte: a slowloris client.
	_, _ = io.WriteString(conn, "PUT /api/v1/users/a@example.com/override HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{")
	closedByServer(t, conn)
}

func TestServerClosesIdleKeepAlives(t *testing.T) {
	addr := serveLimited(t, limitedAPI(t, nil, 0), shortLimits)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Fatalf("the server closed after one request; the test needs a keep-alive")
	}
	closedByServer(t, conn)
}

func TestServerRefusesHugeHeaders(t *testing.T) {
	addr := serveLimited(t, limitedAPI(t, nil, 0), api.Limits{})
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 900<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("900 KB of headers = %d, want 431", resp.StatusCode)
	}
}

// An event stream outlives the server's read and write timeouts: the
// stream route lifts them.
func TestServerKeepsEventStreamsPastTheTimeouts(t *testing.T) {
	log, err := events.NewLog(events.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	addr := serveLimited(t, limitedAPI(t, log, 20*time.Millisecond), shortLimits)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	past := time.Now().Add(5 * shortLimits.WriteTimeout)
	for time.Now().Before(past) {
		if !sc.Scan() {
			t.Fatalf("the stream ended before its deadlines would have passed: %v", sc.Err())
		}
	}
}

// stuckSync never finishes a sync; it returns when its context ends.
type stuckSync struct{}

func (stuckSync) SyncNow(ctx context.Context, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

// sync-now answers before the server's write timeout would cut the
// connection, and says the sync goes on.
func TestSyncNowAnswersWithinItsWait(t *testing.T) {
	p := apitest.NewPresence(presence.Presence{User: "bob@example.com", Availability: presence.Available})
	h, err := api.New(api.Options{Presence: p, SyncNow: stuckSync{}, SyncNowWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveLimited(t, h, api.Limits{})
	resp, err := http.Post("http://"+addr+"/api/v1/users/bob@example.com/sync-now", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "goes on") {
		t.Errorf("a sync that does not finish = %d %s, want 503 saying it goes on", resp.StatusCode, body)
	}
}
