package sip

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/kamailiotest"
	"github.com/calsync/calsync/connectors/sip/sipwatch"
	"github.com/calsync/calsync/store/memstore"
)

// BenchmarkTopOfHour: every user changes at one instant (the top of the
// hour); the time from handing the changes to the connector until a
// watcher subscribed to every user has received the last NOTIFY with the
// new state, through a real Kamailio on loopback. Besides the time it
// reports the processor time per round of Kamailio's processes and of this
// process (the connector and the watcher): on a shared machine the times
// depend on the load, the processor time much less. Settings from the
// environment: CALSYNC_SIP_BENCH_USERS (default 10,000),
// CALSYNC_SIP_BENCH_CONCURRENCY (PUBLISHes in flight, default 64),
// CALSYNC_SIP_BENCH_CHILDREN (Kamailio's UDP workers, default 4),
// CALSYNC_SIP_BENCH_TRANSPORT (udp or tcp, default udp). Command and
// figures: docs/BENCHMARKS.md.
func BenchmarkTopOfHour(b *testing.B) {
	env := func(name string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
			return v
		}
		return def
	}
	users := env("CALSYNC_SIP_BENCH_USERS", 10000)
	concurrency := env("CALSYNC_SIP_BENCH_CONCURRENCY", 64)
	server := ""
	srv := kamailiotest.New(b, kamailio.Options{SharedMemoryMB: 1024, Children: env("CALSYNC_SIP_BENCH_CHILDREN", 4)})
	switch t := os.Getenv("CALSYNC_SIP_BENCH_TRANSPORT"); t {
	case "", "udp":
		server = "sip:" + srv.Addr
	case "tcp":
		server = "sip:" + srv.Addr + ";transport=tcp"
	default:
		b.Fatalf("CALSYNC_SIP_BENCH_TRANSPORT=%s: udp or tcp", t)
	}
	bw := watchBurst(b, srv, users)
	defer bw.w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	c := runBench(b, Options{Server: server, Domain: srv.Domain, Username: srv.Publisher, Password: srv.Password,
		Documents: memstore.New(), Concurrency: concurrency})

	round := func(state connectors.State, activity string) time.Duration {
		bw.expect(activity)
		start := time.Now()
		for i := range users {
			c.Runner().Set(fmt.Sprintf("u%05d@example.com", i), state)
		}
		bw.wait(ctx, func() string { return fmt.Sprintf("status %+v", c.Status()) })
		return time.Since(start)
	}
	// The first round creates the publications (initial PUBLISH); the
	// timed rounds modify them, as every top of the hour does.
	round(connectors.State{Availability: "available"}, "")
	kamBefore, err := srv.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	selfBefore := processCPU()
	recvBefore := received(b, srv)
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		if i%2 == 0 {
			total += round(busy("In a meeting until 10:00"), "meeting")
		} else {
			total += round(connectors.State{Availability: "available"}, "")
		}
	}
	b.StopTimer()
	kamAfter, err := srv.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric((kamAfter-kamBefore).Seconds()/float64(b.N), "kamailio-cpu-s")
	b.ReportMetric((processCPU()-selfBefore).Seconds()/float64(b.N), "calsync+watcher-cpu-s")
	// More PUBLISHes received than sent are retransmissions (UDP).
	b.ReportMetric(float64(received(b, srv)-recvBefore)/float64(b.N*users), "received-per-PUBLISH")
	per := total / time.Duration(b.N)
	b.ReportMetric(per.Seconds(), "s-to-last-NOTIFY")
	b.ReportMetric(float64(users)/per.Seconds(), "publications/s")
}

// runBench starts a connector for a benchmark; it stops at the end.
func runBench(b *testing.B, opts Options) *Connector {
	c, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()
	b.Cleanup(func() { stop(); <-ran })
	return c
}

// burst is a watcher subscribed to every user of a benchmark, counting
// the users whose NOTIFY showed the state a round waits for.
type burst struct {
	b     *testing.B
	w     *sipwatch.Watcher
	users int

	mu      sync.Mutex
	want    string // the activity awaited ("": none, available)
	seen    map[string]bool
	done    atomic.Int64
	allDone chan struct{}
}

// watchBurst subscribes a watcher to users u00000… on srv.
func watchBurst(b *testing.B, srv *kamailio.Server, users int) *burst {
	w, err := sipwatch.New(srv.Addr, srv.Domain)
	if err != nil {
		b.Fatal(err)
	}
	bw := &burst{b: b, w: w, users: users, seen: map[string]bool{}, allDone: make(chan struct{}, 1)}
	w.OnNotify(func(n sipwatch.Notify) {
		if n.Doc == nil {
			return
		}
		bw.mu.Lock()
		defer bw.mu.Unlock()
		has := bw.want == "" && len(n.Doc.Activities) == 0 || bw.want != "" && slices.Contains(n.Doc.Activities, bw.want)
		if has && !bw.seen[n.Presentity] {
			bw.seen[n.Presentity] = true
			if bw.done.Add(1) == int64(users) {
				bw.allDone <- struct{}{}
			}
		}
	})
	g, gctx := errgroup.WithContext(b.Context())
	g.SetLimit(64)
	for i := range users {
		g.Go(func() error { return w.Subscribe(gctx, fmt.Sprintf("sip:u%05d@%s", i, srv.Domain), 3600) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	return bw
}

// expect starts a round that waits for activity.
func (bw *burst) expect(activity string) {
	bw.mu.Lock()
	bw.want, bw.seen = activity, map[string]bool{}
	bw.done.Store(0)
	bw.mu.Unlock()
}

// wait returns when every user's NOTIFY showed the round's state.
func (bw *burst) wait(ctx context.Context, status func() string) {
	select {
	case <-bw.allDone:
	case <-ctx.Done():
		bw.b.Fatalf("%d of %d users' NOTIFYs after 10 min; %s", bw.done.Load(), bw.users, status())
	}
}

// received is how many PUBLISH requests Kamailio has received, counting
// retransmissions (its core statistics).
func received(b *testing.B, srv *kamailio.Server) int {
	b.Helper()
	out, err := srv.RPC(context.Background(), "stats.get_statistics", "core:")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "core:rcv_requests_publish" {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	b.Fatalf("kamailio statistics without core:rcv_requests_publish:\n%s", out)
	return 0
}
