// Command calsync keeps Exchange calendars in sync over EWS and publishes
// presence, agendas and events. See README.md.
//
// main only handles the process: signals and the exit code. Everything else
// lives in internal/cli and the packages it wires.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // calendars need IANA zones even on hosts without tzdata (Windows)

	"github.com/calsync/calsync/internal/cli"
	"github.com/calsync/calsync/internal/memlimit"
)

func main() {
	memlimit.DisableHeapProfile() // calsync bench -memprofile turns it on again
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reload := make(chan os.Signal, 1)
	notifyReload(reload)
	return cli.Main(ctx, cli.Env{
		Args:   os.Args[1:],
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Reload: reload,
	})
}
