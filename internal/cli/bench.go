// `calsync bench`: flags and the table; internal/bench measures.

package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/internal/bench"
)

// runBench runs `calsync bench` with args (the words after "bench") and
// returns the exit code: 0 success, 1 failure, 2 usage error.
func runBench(ctx context.Context, env Env, args []string) int {
	stdout, stderr := env.Stdout, env.Stderr
	if len(args) > 0 && args[0] == "-serve-sim" {
		return bench.ServeSim(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("mailboxes", "1000,10000", "comma-separated mailbox counts to measure")
	servers := fs.Int("servers", 4, "simulated mailbox servers (affinity groups)")
	changes := fs.Int("changes", 200, "changes made to measure change-to-synced delay")
	idle := fs.Duration("idle", 10*time.Second, "idle period over which idle CPU is measured")
	exe := fs.String("sim-exe", "", "binary that serves `bench -serve-sim` (default: this executable)")
	authMethod := fs.String("auth", "basic", "EWS authentication of the engine: basic or ntlm")
	coalesce := fs.Duration("coalesce", 50*time.Millisecond, "the engine's coalescing delay (calsync's default is 2s; the bench measures the reaction itself)")
	verbose := fs.Bool("v", false, "log engine warnings to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: calsync bench [flags]\n\nRuns the Exchange simulator in a child process and measures the sync engine against it.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *authMethod != "basic" && *authMethod != "ntlm" {
		fmt.Fprintf(stderr, "bench: -auth: %q is not valid; expected basic or ntlm\n", *authMethod)
		return 2
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "bench: -mailboxes: %q is not a positive number\n", s)
			return 2
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
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	var results []bench.Result
	for _, n := range ns {
		fmt.Fprintf(stderr, "bench: %d mailboxes …\n", n)
		r, err := bench.Run(ctx, bench.Config{Mailboxes: n, Servers: *servers, Changes: *changes, Idle: *idle, CoalesceDelay: *coalesce, Auth: *authMethod, SimExe: *exe, Logger: logger, Stderr: stderr})
		if err != nil {
			fmt.Fprintf(stderr, "bench: %d mailboxes: %v\n", n, err)
			return 1
		}
		results = append(results, r)
	}
	bench.WriteTable(stdout, results)
	return 0
}
