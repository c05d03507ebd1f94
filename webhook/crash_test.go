package webhook

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/boltstore"
)

// Environment of the child process of TestCrashMidDeliveryLosesNothing.
const (
	envCrashChild = "CALSYNC_WEBHOOK_CRASH_CHILD"
	envCrashDB    = "CALSYNC_WEBHOOK_CRASH_DB"
	envCrashURL   = "CALSYNC_WEBHOOK_CRASH_URL"
	envCrashConc  = "CALSYNC_WEBHOOK_CRASH_CONCURRENCY"
	crashEvents   = 60
	crashKillAt   = 20 // the receiver holds this request while the child is killed
	crashUsers    = 5
)

func crashKey(n int) string { return fmt.Sprintf("user%d@example.com", n%crashUsers) }

// TestCrashChild is not a test of its own: it is the body of the child
// process that TestCrashMidDeliveryLosesNothing starts and kills. It
// enqueues events, the last third while a dispatcher delivers them, and
// prints "ENQ <n> <id>" once Enqueue has returned (the event is durable).
func TestCrashChild(t *testing.T) {
	if os.Getenv(envCrashChild) != "1" {
		t.Skip("runs only as the child of TestCrashMidDeliveryLosesNothing")
	}
	st, err := boltstore.Open(os.Getenv(envCrashDB), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conc, err := strconv.Atoi(os.Getenv(envCrashConc))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Outbox: st, Endpoints: []Endpoint{endpoint("receiver", os.Getenv(envCrashURL))},
		Concurrency: conc, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the parent kills us long before
	defer cancel()
	// Two thirds are enqueued before delivery starts, so that a backlog is
	// left at the kill; the rest while deliveries run.
	for n := range crashEvents {
		if n == crashEvents*2/3 {
			go func() { _ = d.Run(ctx) }()
		}
		ids, err := d.Enqueue(ctx, EventPresenceChanged, crashKey(n), map[string]int{"n": n})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "ENQ %d %s\n", n, ids[0])
	}
	<-ctx.Done()
}

// TestCrashMidDeliveryLosesNothing kills (SIGKILL) a process that is
// delivering webhooks from a bolt outbox while a delivery is in flight,
// restarts delivery from the same file in this process, and proves that
// every durable event arrives, each under one idempotency id, and that only
// deliveries in flight at the kill are repeated: exactly the held one with
// Concurrency 1, at most Concurrency of them otherwise.
func TestCrashMidDeliveryLosesNothing(t *testing.T) {
	if os.Getenv(envCrashChild) == "1" {
		t.Skip("this is the child")
	}
	for _, conc := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency%d", conc), func(t *testing.T) { crashAndRecover(t, conc) })
	}
}

func crashAndRecover(t *testing.T, conc int) {
	var count atomic.Int32
	inFlight := make(chan string, 1)
	release := make(chan struct{})
	rc := newReceiver(t, time.Now, func(r received) int {
		if count.Add(1) == crashKillAt {
			inFlight <- r.ID
			<-release // answer only after the sender is dead
		}
		return http.StatusOK
	})
	dbPath := filepath.Join(t.TempDir(), "outbox.db")

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), envCrashChild+"=1", envCrashDB+"="+dbPath, envCrashURL+"="+rc.srv.URL, envCrashConc+"="+strconv.Itoa(conc))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var inFlightID string
	select {
	case inFlightID = <-inFlight:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child never reached delivery %d; stderr:\n%s", crashKillAt, stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitErr := cmd.Wait()
	close(release)
	if !strings.Contains(fmt.Sprint(waitErr), "killed") {
		t.Fatalf("child ended with %v, want killed; stderr:\n%s", waitErr, stderr.String())
	}
	acked := parseAcks(t, stdout.String())
	t.Logf("child killed during delivery %d (id %s) after acknowledging %d of %d events", crashKillAt, inFlightID, len(acked), crashEvents)

	// Restart: a new dispatcher on the same file delivers the rest.
	st, err := boltstore.Open(dbPath, boltstore.Options{})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer st.Close()
	d, err := New(Options{Outbox: st, Endpoints: []Endpoint{endpoint("receiver", rc.srv.URL)}, Concurrency: conc, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, d)
	testenv.WaitFor(t, "outbox drained after restart", func() bool { return pending(t, st, "receiver") == 0 })

	reqs := rc.requests()
	idsOfEvent := map[int]map[string]bool{}
	deliveries := map[string]int{}
	lastN := map[string]int{}
	for i, r := range reqs {
		if r.VerifyErr != nil {
			t.Errorf("request %d: %v", i, r.VerifyErr)
		}
		if idsOfEvent[r.N] == nil {
			idsOfEvent[r.N] = map[string]bool{}
		}
		idsOfEvent[r.N][r.ID] = true
		deliveries[r.ID]++
		if prev, ok := lastN[r.Key]; ok && r.N < prev {
			t.Errorf("%s: event %d delivered after event %d", r.Key, r.N, prev)
		}
		lastN[r.Key] = r.N
		if r.Key != crashKey(r.N) {
			t.Errorf("event %d arrived with key %s", r.N, r.Key)
		}
	}
	// The events that reached the outbox are 0..M-1: Enqueue is sequential
	// and at most one more may have been committed than the child printed.
	m := len(idsOfEvent)
	if m < len(acked) || m > crashEvents {
		t.Fatalf("%d distinct events delivered, %d acknowledged", m, len(acked))
	}
	for n := range m {
		ids := idsOfEvent[n]
		if len(ids) != 1 {
			t.Errorf("event %d arrived under %d ids %v, want exactly one (lost or re-enqueued)", n, len(ids), ids)
		}
		if id, ok := acked[n]; ok && !ids[id] {
			t.Errorf("acknowledged event %d (id %s) never delivered", n, id)
		}
	}
	if len(deliveries) != m {
		t.Errorf("%d distinct delivery ids for %d events", len(deliveries), m)
	}
	repeated := 0
	for id, k := range deliveries {
		switch {
		case id == inFlightID && k != 2:
			t.Errorf("in-flight delivery %s arrived %d times, want 2 (before the kill and after the restart)", id, k)
		case k > 2:
			t.Errorf("delivery %s arrived %d times", id, k)
		case k == 2 && conc == 1 && id != inFlightID:
			t.Errorf("delivery %s arrived twice; with Concurrency 1 only the in-flight one may repeat", id)
		}
		if k == 2 {
			repeated++
		}
	}
	if repeated > conc {
		t.Errorf("%d deliveries repeated, more than the %d that can be in flight", repeated, conc)
	}
	dead, err := st.DeadLetters(t.Context(), store.DeadLetterQuery{})
	if err != nil || len(dead) != 0 {
		t.Errorf("dead letters after recovery: %v, %v", dead, err)
	}
	t.Logf("%d requests for %d events; %d repeated (held one: %s)", len(reqs), m, repeated, inFlightID)
}

func parseAcks(t *testing.T, out string) map[int]string {
	acked := map[int]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ENQ" {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("bad child line %q", sc.Text())
		}
		acked[n] = f[2]
	}
	return acked
}
