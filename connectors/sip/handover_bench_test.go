package sip

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/kamailiotest"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

// BenchmarkHandover: every user's mailbox moves from one cluster instance
// to another at once (a dead instance's share taken over). The time from
// the old owner's Release (it saves its entity tags in PostgreSQL) through
// the new owner's Adopt (it reads them and modifies each publication with
// SIP-If-Match, a new state) until a watcher has received every user's
// NOTIFY with the new state, through a real Kamailio and a real
// PostgreSQL. It fails when a user's last NOTIFY carries more than one
// tuple (parallel publications). CALSYNC_SIP_BENCH_HANDOVER_USERS sets the users
// (default 1,000). Command and figures: docs/BENCHMARKS.md.
func BenchmarkHandover(b *testing.B) {
	users := 1000
	if v, err := strconv.Atoi(os.Getenv("CALSYNC_SIP_BENCH_HANDOVER_USERS")); err == nil && v > 0 {
		users = v
	}
	srv := kamailiotest.New(b, kamailio.Options{SharedMemoryMB: 1024})
	st, err := pgstore.Open(b.Context(), pgtest.Database(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bw := watchBurst(b, srv, users)
	defer bw.w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var instances [2]*Connector
	for i := range instances {
		instances[i] = runBench(b, Options{Server: "sip:" + srv.Addr, Domain: srv.Domain, Username: srv.Publisher, Password: srv.Password,
			Documents: st, Owns: func(string) bool { return true }})
	}
	names := make([]string, users)
	for i := range names {
		names[i] = fmt.Sprintf("u%05d@example.com", i)
	}
	adopt := func(c *Connector, s connectors.State) {
		states := make(map[string]*connectors.State, users)
		for _, u := range names {
			states[u] = &s
		}
		if err := c.Adopt(ctx, states); err != nil {
			b.Fatal(err)
		}
	}
	// The first owner creates the publications.
	bw.expect("")
	adopt(instances[0], connectors.State{Availability: "available"})
	bw.wait(ctx, func() string { return fmt.Sprintf("status %+v", instances[0].Status()) })
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		from, to := instances[i%2], instances[(i+1)%2]
		s, activity := busy("In a meeting until 10:00"), "meeting"
		if i%2 == 1 {
			s, activity = connectors.State{Availability: "available"}, ""
		}
		bw.expect(activity)
		start := time.Now()
		if err := from.Release(ctx, names); err != nil {
			b.Fatal(err)
		}
		adopt(to, s)
		bw.wait(ctx, func() string { return fmt.Sprintf("status %+v", to.Status()) })
		total += time.Since(start)
	}
	b.StopTimer()
	// Parallel publications would show as several tuples in a NOTIFY
	// (the server's publication list is too long for kamcmd at 3,000).
	for i := range users {
		entity := fmt.Sprintf("sip:u%05d@%s", i, srv.Domain)
		if n, ok := bw.w.Last(entity); !ok || n.Doc == nil || n.Doc.Tuples != 1 {
			b.Fatalf("%s: the last NOTIFY after %d handovers is %q, want one tuple", entity, b.N, n.Body)
		}
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(per.Seconds(), "s-to-last-NOTIFY")
	b.ReportMetric(float64(users)/per.Seconds(), "users/s")
}
