package sip

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
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
// new state, through a real Kamailio on loopback. CALSYNC_SIP_BENCH_USERS
// sets the number of users (default 10,000). Command and figures:
// docs/BENCHMARKS.md.
func BenchmarkTopOfHour(b *testing.B) {
	users := 10000
	if v := os.Getenv("CALSYNC_SIP_BENCH_USERS"); v != "" {
		users, _ = strconv.Atoi(v)
	}
	srv := kamailiotest.New(b, kamailio.Options{SharedMemoryMB: 1024})
	w, err := sipwatch.New(srv.Addr, srv.Domain)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	entity := func(i int) string { return fmt.Sprintf("sip:u%05d@%s", i, srv.Domain) }

	// want is the activity the current round waits for; done counts the
	// users whose NOTIFY showed it.
	var mu sync.Mutex
	want := ""
	seen := map[string]bool{}
	var done atomic.Int64
	allDone := make(chan struct{}, 1)
	w.OnNotify(func(n sipwatch.Notify) {
		if n.Doc == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		has := want == "" && len(n.Doc.Activities) == 0 || want != "" && slices.Contains(n.Doc.Activities, want)
		if has && !seen[n.Presentity] {
			seen[n.Presentity] = true
			if done.Add(1) == int64(users) {
				allDone <- struct{}{}
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i := range users {
		g.Go(func() error { return w.Subscribe(gctx, entity(i), 3600) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}

	c, err := New(Options{Server: "sip:" + srv.Addr, Domain: srv.Domain, Username: srv.Publisher, Password: srv.Password,
		Documents: memstore.New(), Concurrency: 64})
	if err != nil {
		b.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(rctx) }()
	defer func() { stop(); <-ran }()

	round := func(state connectors.State, activity string) time.Duration {
		mu.Lock()
		want, seen = activity, map[string]bool{}
		done.Store(0)
		mu.Unlock()
		start := time.Now()
		for i := range users {
			c.Runner().Set(fmt.Sprintf("u%05d@example.com", i), state)
		}
		select {
		case <-allDone:
		case <-ctx.Done():
			b.Fatalf("%d of %d users' NOTIFYs after 10 min; status %+v", done.Load(), users, c.Status())
		}
		return time.Since(start)
	}
	// The first round creates the publications (initial PUBLISH); the
	// timed rounds modify them, as every top of the hour does.
	round(connectors.State{Availability: "available"}, "")
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
	per := total / time.Duration(b.N)
	b.ReportMetric(per.Seconds(), "s-to-last-NOTIFY")
	b.ReportMetric(float64(users)/per.Seconds(), "publications/s")
}
