// Package cli implements calsync's subcommands. It is a library: it never
// calls os.Exit and never installs signal handlers; cmd/calsync does both.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
)

// Env is what a subcommand gets from the process.
type Env struct {
	Args   []string
	Stdout io.Writer
	Stderr io.Writer
	// Reload delivers SIGHUP (nil on Windows).
	Reload <-chan os.Signal
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"version":      {"print the version", runVersion},
		"run":          {"run the sync service with a config file", runRun},
		"demo":         {"run simulator + sync + dashboard in one process (no Exchange needed)", runDemo},
		"sim":          {"run the Exchange simulator (EWS endpoint for tests and trials)", runSim},
		"bench":        {"measure the engine against a simulator in a separate process (1,000 / 10,000 mailboxes)", runBench},
		"check":        {"verify connectivity, TLS, auth, impersonation of every user, notifications and throttling; prints fixes", runCheck},
		"config":       {"config validate FILE: check a config file, every problem with line and column", runConfig},
		"setup-script": {"print the Exchange Management Shell script for the prerequisites", runSetupScript},
	}
}

// Main runs the subcommand named by env.Args[0] and returns the exit code:
// 0 success, 1 failure, 2 usage error.
func Main(ctx context.Context, env Env) int {
	cmds := commands()
	if len(env.Args) == 0 || env.Args[0] == "help" || env.Args[0] == "-h" || env.Args[0] == "--help" {
		usage(env.Stdout, cmds)
		if len(env.Args) == 0 {
			return 2
		}
		return 0
	}
	name := env.Args[0]
	if name == "--version" || name == "-version" {
		name = "version"
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "calsync: unknown command %q\n\n", name)
		usage(env.Stderr, cmds)
		return 2
	}
	return cmd.run(ctx, env, env.Args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "calsync keeps Exchange calendars in sync over EWS and publishes presence.")
	fmt.Fprintln(w, "\nUsage: calsync <command> [flags]\n\nCommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'calsync <command> --help' for the flags of a command.")
}
