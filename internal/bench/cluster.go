package bench

// `calsync bench -cluster N`: a cluster of real processes (clusterrig:
// a throwaway PostgreSQL, the simulator, N `calsync run` instances) is
// started cold and measured until every mailbox is live once; then the
// instance owning the most mailboxes is killed with SIGKILL, each of its
// mailboxes (but those out of office already) gets an out-of-office
// appointment from now on the simulator, and the bench waits until every
// mailbox is live again on the survivors and each of those users shows
// out of office through a survivor's API (the issue 14 target: within
// 30 s).

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/store/pgstore"
)

// ClusterConfig is one `bench -cluster` run.
type ClusterConfig struct {
	Instances int
	Mailboxes int
	Servers   int
	// LeaseTTL is cluster.lease_ttl (default calsync's, config.DefaultLeaseTTL).
	LeaseTTL time.Duration
	// PoolSize is store.postgres.pool_size (default calsync's 10).
	PoolSize int
	// Timeout bounds each phase (load, failover; default 8 minutes).
	Timeout time.Duration
	// Binary is the calsync executable the rig runs (this one).
	Binary string
	// Keep leaves the rig's folder (configs, logs) in place; LogLevel is
	// the instances' logging.level (default warn).
	Keep     bool
	LogLevel string
	Logger   *slog.Logger
	Stderr   io.Writer
}

// ClusterResult is what one run measured.
type ClusterResult struct {
	Instances, Mailboxes int
	LeaseTTL             time.Duration
	// AllLive is from the first instance's process start to every
	// mailbox live on exactly one instance.
	AllLive            time.Duration
	LoadRequests       int64 // EWS requests the simulator served until then
	RequestsPerMailbox float64
	// LoadAutodiscover are the GetUserSettings requests until then,
	// LoadCauses the instances' reads by reason and streaming connection
	// events (reasons.go).
	LoadAutodiscover int64
	LoadCauses       ReadCauses
	// FailoverCauses are the survivors' reads by reason and streaming
	// connection events from the SIGKILL to the end of the failover.
	FailoverCauses ReadCauses
	// RSS is each instance's resident memory right after the load (bytes,
	// by instance id, from its own process metrics).
	RSS map[string]int64
	// Owned is how many mailboxes each instance owned after the load.
	Owned map[string]int
	// Victim was killed; VictimOwned mailboxes were its.
	Victim      string
	VictimOwned int
	// FailoverLive is from the SIGKILL to every mailbox live again on the
	// survivors; Failover to that and every appointment booked for the
	// victim's users showing through a survivor's API.
	FailoverLive, Failover time.Duration
	// Booked is how many of the victim's users got an out-of-office
	// appointment (those not out of office before the kill).
	Booked int
	// FailoverRequests are the EWS requests served from the kill to the
	// end of the failover (including the reads of the booked appointments).
	FailoverRequests int64
	// FailoverTaken is from the SIGKILL to every mailbox leased by a
	// survivor (the lease TTL and the survivors' round).
	FailoverTaken time.Duration
	// LoadByOp and FailoverByOp are the EWS requests by operation up to
	// the kill and during the failover.
	LoadByOp, FailoverByOp map[string]int64
	Throttled              int64 // simulator throttling answers over the whole run
	// Limits are the survivors' budget limits (min / mean / max, sampled
	// every second) from the SIGKILL to every presence correct.
	Limits map[string]limitStats
	// LoadStart, LoadKill and LoadEnd are the machine's load averages at
	// the start, at the SIGKILL and at the end ("" off Linux).
	LoadStart, LoadKill, LoadEnd string
	Dir                          string
}

// RunCluster measures one cluster size.
func RunCluster(ctx context.Context, cfg ClusterConfig) (ClusterResult, error) {
	cfg.Instances = cmp.Or(cfg.Instances, 3)
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, config.DefaultLeaseTTL)
	cfg.Timeout = cmp.Or(cfg.Timeout, 8*time.Minute)
	res := ClusterResult{Instances: cfg.Instances, Mailboxes: cfg.Mailboxes, LeaseTTL: cfg.LeaseTTL, LoadStart: loadAverage()}
	if cfg.Instances < 2 {
		return res, fmt.Errorf("bench: -cluster needs at least 2 instances (one is killed), got %d", cfg.Instances)
	}
	dir, err := os.MkdirTemp("", "calsync-bench-cluster-")
	if err != nil {
		return res, err
	}
	res.Dir = dir
	if !cfg.Keep {
		defer os.RemoveAll(dir)
	}
	rig, err := clusterrig.Start(ctx, clusterrig.Options{Binary: cfg.Binary, Instances: cfg.Instances, Mailboxes: cfg.Mailboxes,
		Servers: cfg.Servers, LeaseTTL: cfg.LeaseTTL, Dir: dir,
		Instance: clusterrig.InstanceConfig{PoolSize: cmp.Or(cfg.PoolSize, 10), LogLevel: cmp.Or(cfg.LogLevel, "warn")}})
	if err != nil {
		return res, err
	}
	defer rig.Close()
	fail := func(phase string, err error) (ClusterResult, error) {
		for _, in := range rig.Instances() {
			fmt.Fprintf(cfg.Stderr, "bench: log of %s (%s), last lines:\n%s\n", in.ID, in.LogPath(), in.LogTail(15))
		}
		return res, fmt.Errorf("bench: cluster %s: %w", phase, err)
	}
	st, err := pgstore.Open(ctx, rig.DatabaseURL())
	if err != nil {
		return fail("database", err)
	}
	defer st.Close()
	probe := &clusterProbe{rig: rig, st: st, users: rig.Users()}

	// Load: from the first process start to every mailbox live once.
	started, err := probe.started(ctx)
	if err != nil {
		return fail("start", err)
	}
	if err := probe.waitLive(ctx, cfg.Timeout, cfg.Stderr); err != nil {
		return fail("load", err)
	}
	res.AllLive = time.Since(started)
	stats, err := probe.simStats(ctx)
	if err != nil {
		return fail("load", err)
	}
	res.LoadRequests = stats.RequestsTotal
	res.LoadAutodiscover = stats.AutodiscoverRequests
	if res.LoadCauses, err = probe.readCauses(ctx); err != nil {
		return fail("load", err)
	}
	res.RequestsPerMailbox = float64(stats.RequestsTotal) / float64(cfg.Mailboxes)
	if res.RSS, err = probe.rss(ctx); err != nil {
		return fail("memory", err)
	}
	owners, err := probe.owners(ctx)
	if err != nil {
		return fail("placements", err)
	}
	res.Owned = map[string]int{}
	for _, id := range owners {
		res.Owned[id]++
	}
	fmt.Fprintf(cfg.Stderr, "bench: all %d mailboxes live after %s; owned %v\n", cfg.Mailboxes, res.AllLive.Round(100*time.Millisecond), res.Owned)

	// Failover: kill the instance owning most, book an out-of-office
	// appointment for its users, wait for the survivors.
	var victim *clusterrig.Instance
	for _, in := range rig.Instances() {
		if victim == nil || res.Owned[in.ID] > res.Owned[victim.ID] {
			victim = in
		}
	}
	res.Victim, res.VictimOwned = victim.ID, res.Owned[victim.ID]
	var survivors []*clusterrig.Instance
	for _, in := range rig.Instances() {
		if in != victim {
			survivors = append(survivors, in)
		}
	}
	free, err := probe.notAway(ctx, survivors[0], owners, victim.ID)
	if err != nil {
		return fail("presence before the kill", err)
	}
	before, err := probe.simStats(ctx)
	if err != nil {
		return fail("failover", err)
	}
	causesBefore, err := probe.readCauses(ctx, survivors...)
	if err != nil {
		return fail("failover", err)
	}
	res.LoadKill = loadAverage()
	killed := time.Now()
	victim.Kill()
	stopLimits := sampleLimits(ctx, rig, time.Second)
	fmt.Fprintf(cfg.Stderr, "bench: killed %s (%d mailboxes); booking an out-of-office appointment for %d of its users …\n", victim.ID, res.VictimOwned, len(free))
	if err := probe.book(ctx, free, killed); err != nil {
		return fail("booking appointments", err)
	}
	res.Booked = len(free)
	taken, live, done, err := probe.waitFailover(ctx, cfg.Timeout, victim.ID, free)
	res.Limits, res.LoadEnd = stopLimits(), loadAverage()
	if err != nil {
		return fail("failover", err)
	}
	res.FailoverTaken, res.FailoverLive, res.Failover = taken.Sub(killed), live.Sub(killed), done.Sub(killed)
	after, err := probe.simStats(ctx)
	if err != nil {
		return fail("failover", err)
	}
	res.FailoverRequests = after.RequestsTotal - before.RequestsTotal
	causesAfter, err := probe.readCauses(ctx, survivors...)
	if err != nil {
		return fail("failover", err)
	}
	res.FailoverCauses = causesAfter.since(causesBefore)
	res.LoadByOp, res.FailoverByOp = before.Requests, map[string]int64{}
	for op, n := range after.Requests {
		if d := n - before.Requests[op]; d > 0 {
			res.FailoverByOp[op] = d
		}
	}
	for _, n := range after.Throttled {
		res.Throttled += n
	}
	fmt.Fprintf(cfg.Stderr, "bench: failover: leased by survivors %s, every mailbox live again %s, every booked user out of office %s after the SIGKILL (target 30 s); %.2f requests per moved mailbox; survivors' budget limit min/mean/max %s; load average %s → %s → %s\n",
		res.FailoverTaken.Round(100*time.Millisecond), res.FailoverLive.Round(100*time.Millisecond), res.Failover.Round(100*time.Millisecond),
		float64(res.FailoverRequests)/float64(max(res.VictimOwned, 1)), fmtLimits(res.Limits), res.LoadStart, res.LoadKill, res.LoadEnd)
	return res, nil
}

// WriteClusterTable prints the results as a Markdown table.
func WriteClusterTable(w io.Writer, rs []ClusterResult) {
	fmt.Fprintf(w, "| metric (cluster) |")
	for _, r := range rs {
		fmt.Fprintf(w, " %d instances × %d mailboxes |", r.Instances, r.Mailboxes)
	}
	fmt.Fprintf(w, "\n|---|")
	for range rs {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	row := func(name string, f func(ClusterResult) string) {
		fmt.Fprintf(w, "| %s |", name)
		for _, r := range rs {
			fmt.Fprintf(w, " %s |", f(r))
		}
		fmt.Fprintln(w)
	}
	mib := func(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	row("lease TTL", func(r ClusterResult) string { return r.LeaseTTL.String() })
	row("time to all live (first process start → every mailbox live once)", func(r ClusterResult) string { return r.AllLive.Round(100 * time.Millisecond).String() })
	row("EWS requests per mailbox up to all live", func(r ClusterResult) string {
		return fmt.Sprintf("%.3f (%d)", r.RequestsPerMailbox, r.LoadRequests)
	})
	row("Autodiscover GetUserSettings requests up to all live (mailboxes per request)", func(r ClusterResult) string {
		return fmt.Sprintf("%d (%.1f)", r.LoadAutodiscover, float64(r.Mailboxes)/float64(max(r.LoadAutodiscover, 1)))
	})
	row("CalendarView requests by reason up to all live (all instances)", func(r ClusterResult) string { return r.LoadCauses.fmtReads() })
	row("streaming connection events up to all live (all instances)", func(r ClusterResult) string { return r.LoadCauses.fmtStreamEvents() })
	row("mailboxes per instance", func(r ClusterResult) string { return fmtOwned(r.Owned) })
	row("RSS per instance after the load", func(r ClusterResult) string {
		ids := slices.Sorted(maps.Keys(r.RSS))
		s := ""
		for i, id := range ids {
			if i > 0 {
				s += ", "
			}
			s += id + " " + mib(r.RSS[id])
		}
		return s
	})
	row("SIGKILL of", func(r ClusterResult) string { return fmt.Sprintf("%s (%d mailboxes)", r.Victim, r.VictimOwned) })
	row("failover: SIGKILL → every mailbox leased by a survivor", func(r ClusterResult) string { return r.FailoverTaken.Round(100 * time.Millisecond).String() })
	row("failover: SIGKILL → every mailbox live again", func(r ClusterResult) string { return r.FailoverLive.Round(100 * time.Millisecond).String() })
	row("failover: SIGKILL → live and every presence correct (target 30 s)", func(r ClusterResult) string {
		return fmt.Sprintf("%s (%d appointments booked after the kill)", r.Failover.Round(100*time.Millisecond), r.Booked)
	})
	row("EWS requests during the failover, per moved mailbox", func(r ClusterResult) string {
		if r.VictimOwned == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f (%d)", float64(r.FailoverRequests)/float64(r.VictimOwned), r.FailoverRequests)
	})
	row("CalendarView requests by reason during the failover (survivors)", func(r ClusterResult) string { return r.FailoverCauses.fmtReads() })
	row("streaming connection events during the failover (survivors)", func(r ClusterResult) string { return r.FailoverCauses.fmtStreamEvents() })
	row("failover: survivors' budget limit (requests in flight) min / mean / max", func(r ClusterResult) string { return fmtLimits(r.Limits) })
	row("machine load average at start → SIGKILL → end", func(r ClusterResult) string {
		return fmt.Sprintf("%s → %s → %s", r.LoadStart, r.LoadKill, r.LoadEnd)
	})
	row("requests by operation up to the kill", func(r ClusterResult) string { return fmtMap(r.LoadByOp) })
	row("requests by operation during the failover", func(r ClusterResult) string { return fmtMap(r.FailoverByOp) })
	row("throttling answers (whole run)", func(r ClusterResult) string { return fmt.Sprint(r.Throttled) })
}

func fmtOwned(m map[string]int) string {
	ids := slices.Sorted(maps.Keys(m))
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", id, m[id])
	}
	return s
}
