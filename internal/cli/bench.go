// `calsync bench`: flags and the table; internal/bench measures.

package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/bench"
)

// runBench runs `calsync bench` with args (the words after "bench") and
// returns the exit code: 0 success, 1 failure, 2 usage error.
func runBench(ctx context.Context, env Env, args []string) int {
	stdout, stderr := env.Stdout, env.Stderr
	if len(args) > 0 && args[0] == "-serve-sim" {
		return bench.ServeSim(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("bench", "bench [flags]", stderr)
	fs.about = "Runs the Exchange simulator in a child process and measures the sync engine against it."
	sizes := fs.String("mailboxes", "1000,10000", "comma-separated mailbox counts to measure")
	servers := fs.Int("servers", 4, "simulated mailbox servers (affinity groups)")
	changes := fs.Int("changes", 200, "changes made to measure change-to-synced delay")
	idle := fs.Duration("idle", 10*time.Second, "idle period over which idle CPU is measured")
	idleAfter := fs.Duration("idle-after", 0, "wait this long after the load before the idle period (steady state instead of right after the load)")
	exe := fs.String("sim-exe", "", "binary that serves `bench -serve-sim` (default: this executable)")
	authMethod := fs.String("auth", "basic", "EWS authentication of the engine: basic or ntlm")
	coalesce := fs.Duration("coalesce", 50*time.Millisecond, "the engine's coalescing delay (calsync's default is 2s; the bench measures the reaction itself)")
	oofChanges := fs.Int("oof-changes", 20, "automatic replies turned on, spread over one poll interval, to measure their detection and the GetMailTips rate (0: skip)")
	oofPoll := fs.Duration("oof-poll", time.Minute, "the engine's automatic-replies mail-tip poll interval (oof_poll_interval)")
	verbose := fs.Bool("v", false, "log engine warnings to stderr")
	restart := fs.Bool("restart", false, "after the load, wait for a reconciliation to store every sync state, stop, change some mailboxes and measure a restart over the store (instead of idle CPU and change delays)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the initial load to this file (go tool pprof); with several sizes, of the last")
	memProfile := fs.String("memprofile", "", "write a heap profile taken right after the initial load to this file; with several sizes, of the last")
	heapDump := fs.String("heapdump", "", "write a Go heap dump right after the initial load's figures are read (every allocation of 16 bytes and more sampled, so the run's CPU is not the figure to read); with several sizes, of the last")
	heapSpans := fs.String("heapspans", "", "read a heap dump written by --heapdump and print where its partly used spans are (size classes, allocation sites) and the goroutines' stacks; nothing is run")
	idleProfile := fs.String("idleprofile", "", "write a CPU profile of the idle period to this file; with several sizes, of the last")
	restartChanges := fs.Int("restart-changes", 0, "mailboxes changed while calsync is down in -restart (default 1 %, at least 1)")
	rate := fs.String("rate", "adaptive", "the budget's requests_per_second: adaptive (the default config) or a fixed pace")
	maxConcurrency := fs.Int("max-concurrency", 0, "the budget's max_concurrency (0: the default config's)")
	queueLimit := fs.Int("sim-queue-limit", 0, "overload the simulator: HTTP 503 above this many requests in flight (0: off)")
	graphMode := fs.Bool("graph", false, "host every mailbox in the simulator's cloud and sync over Microsoft Graph (delta mode) instead of EWS; uses --mailboxes, --changes, --coalesce, --delta-interval, --webhook, -v")
	deltaInterval := fs.Duration("delta-interval", 30*time.Second, "with --graph: exchange_online.notifications.delta_interval (with --webhook: the safety-net round)")
	webhook := fs.Bool("webhook", false, "with --graph: webhook mode, the simulator posts change notifications to a receiver of the bench on loopback")
	compare := fs.String("compare", "", "after the load, run exchangelib on the same job (view and stream every mailbox) against the same simulator with as many requests in flight (--max-concurrency, default the config's 10; no pacing on either side) and compare wall time, CPU and peak RSS; skips the idle, change and automatic-replies phases")
	python := fs.String("python", "/usr/bin/python3", "with --compare: the Python interpreter that has exchangelib (Debian: python3-exchangelib)")
	clusterN := fs.Int("cluster", 0, "start this many `calsync run` instances on a throwaway PostgreSQL (needs the postgresql package) with the simulator as a process, measure time to all live, then SIGKILL one and measure the failover; uses --mailboxes, --servers, --lease-ttl")
	leaseTTL := fs.Duration("lease-ttl", config.DefaultLeaseTTL, "with --cluster: cluster.lease_ttl of the instances")
	keepDir := fs.Bool("keep", false, "with --cluster: keep the folder of the instances' configs and logs (its path is printed)")
	loadTimeout := fs.Duration("load-timeout", 0, "give up when the mailboxes are not all live and streamed after this long (0: 20 ms per mailbox + 2 min)")
	sse := fs.Bool("sse", false, "run a whole instance as calsync run wires it (API and SSE included) and measure change in the simulator → presence event at an SSE client; uses --mailboxes, --servers, --changes, --coalesce, --sse-interval, -v")
	sseInterval := fs.Duration("sse-interval", 200*time.Millisecond, "with --sse: the time between two changes (each on another mailbox)")
	duringLoad := fs.Bool("during-load", false, "start a tenth of the mailboxes, wait until they are live, then add the rest and measure change-to-synced of the live ones while the rest loads (one change at a time); uses --mailboxes, --servers, --coalesce, -v")
	if code := fs.parse(args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return fs.fail("unexpected argument %q", fs.Arg(0))
	}
	if *heapSpans != "" {
		if err := bench.WriteHeapSpans(stdout, *heapSpans, 30); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	if *authMethod != "basic" && *authMethod != "ntlm" {
		return fs.fail("--auth %q: expected basic or ntlm", *authMethod)
	}
	budget, err := bench.Budget(*rate, *maxConcurrency)
	if err != nil {
		return fs.fail("--rate: %v", err)
	}
	if *compare != "" {
		if *compare != bench.CompareExchangelib {
			return fs.fail("--compare %q: expected %s", *compare, bench.CompareExchangelib)
		}
		budget = bench.CompareBudget(budget.Concurrency)
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fs.fail("--mailboxes: %q is not a positive number", s)
		}
		ns = append(ns, n)
	}
	if *exe == "" {
		p, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		*exe = p
	}
	fmt.Fprintln(stdout, bench.Header())
	fmt.Fprintln(stdout)
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if *clusterN > 0 {
		return runClusterBench(ctx, ns, bench.ClusterConfig{Instances: *clusterN, Servers: *servers, LeaseTTL: *leaseTTL, Keep: *keepDir, LogLevel: clusterLogLevel(*verbose), Binary: *exe, Logger: logger, Stderr: stderr}, stdout, stderr)
	}
	if *sse {
		return runSSEBench(ctx, ns, bench.SSEConfig{Servers: *servers, Changes: *changes, Interval: *sseInterval, CoalesceDelay: *coalesce, SimExe: *exe, Logger: logger, Stderr: stderr}, stdout, stderr)
	}
	if *duringLoad {
		return eachSize(ns, stdout, stderr, bench.WriteDuringLoadTable, func(n int) string { return fmt.Sprintf("%d mailboxes, changes during the load", n) }, func(n int) (bench.DuringLoadResult, error) {
			return bench.RunDuringLoad(ctx, bench.DuringLoadConfig{Mailboxes: n, Servers: *servers, CoalesceDelay: *coalesce, LoadTimeout: *loadTimeout, SimExe: *exe, Logger: logger, Stderr: stderr})
		})
	}
	if *graphMode {
		return runGraphBench(ctx, ns, bench.GraphConfig{Changes: *changes, DeltaInterval: *deltaInterval, Webhook: *webhook, CoalesceDelay: *coalesce, SimExe: *exe, Logger: logger, Stderr: stderr}, stdout, stderr)
	}
	return eachSize(ns, stdout, stderr, bench.WriteTable, func(n int) string { return fmt.Sprintf("%d mailboxes", n) }, func(n int) (bench.Result, error) {
		r, err := bench.Run(ctx, bench.Config{Mailboxes: n, Servers: *servers, Changes: *changes, Idle: *idle, IdleAfter: *idleAfter, CoalesceDelay: *coalesce, OOFChanges: *oofChanges, OOFPollInterval: *oofPoll, Restart: *restart, RestartChanges: *restartChanges, CPUProfile: *cpuProfile, HeapProfile: *memProfile, HeapDump: *heapDump, IdleProfile: *idleProfile, Auth: *authMethod, SimExe: *exe, Budget: budget, SimQueueLimit: *queueLimit, Compare: *compare, Python: *python, LoadTimeout: *loadTimeout, Logger: logger, Stderr: stderr})
		return r, err
	})
}

// eachSize runs one bench per size, saying on stderr what runs (label,
// also the prefix of its error), and writes the table of all results, or
// stops at the first error.
func eachSize[R any](sizes []int, stdout, stderr io.Writer, write func(io.Writer, []R), label func(n int) string, run func(n int) (R, error)) int {
	var results []R
	for _, n := range sizes {
		fmt.Fprintf(stderr, "bench: %s …\n", label(n))
		r, err := run(n)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %s: %v\n", label(n), err)
			return 1
		}
		results = append(results, r)
	}
	write(stdout, results)
	return 0
}

// clusterLogLevel is the instances' log level: info with -v (the
// cluster's moves; kept with --keep), warn otherwise.
func clusterLogLevel(verbose bool) string {
	if verbose {
		return "info"
	}
	return "warn"
}

// runClusterBench runs `calsync bench --cluster N` for each size.
func runClusterBench(ctx context.Context, sizes []int, cfg bench.ClusterConfig, stdout, stderr io.Writer) int {
	return eachSize(sizes, stdout, stderr, bench.WriteClusterTable, func(n int) string { return fmt.Sprintf("%d instances, %d mailboxes", cfg.Instances, n) }, func(n int) (bench.ClusterResult, error) {
		cfg.Mailboxes = n
		r, err := bench.RunCluster(ctx, cfg)
		if cfg.Keep && r.Dir != "" {
			fmt.Fprintf(stderr, "bench: configs and logs kept in %s\n", r.Dir)
		}
		return r, err
	})
}

// runGraphBench runs `calsync bench --graph` for each size.
func runGraphBench(ctx context.Context, sizes []int, cfg bench.GraphConfig, stdout, stderr io.Writer) int {
	return eachSize(sizes, stdout, stderr, bench.WriteGraphTable, func(n int) string { return fmt.Sprintf("%d cloud mailboxes over Graph", n) }, func(n int) (bench.GraphResult, error) {
		cfg.Mailboxes = n
		r, err := bench.RunGraph(ctx, cfg)
		return r, err
	})
}

// runSSEBench runs `calsync bench --sse` for each size.
func runSSEBench(ctx context.Context, sizes []int, cfg bench.SSEConfig, stdout, stderr io.Writer) int {
	return eachSize(sizes, stdout, stderr, bench.WriteSSETable, func(n int) string { return fmt.Sprintf("%d mailboxes, SSE", n) }, func(n int) (bench.SSEResult, error) {
		cfg.Mailboxes = n
		r, err := bench.RunSSE(ctx, cfg)
		return r, err
	})
}
