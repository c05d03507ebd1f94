// `calsync run`: the sync service with a config file, in the foreground or
// under the Windows Service Control Manager.

package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/calsync/calsync/app"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/memlimit"
	"github.com/calsync/calsync/internal/service"
)

func runRun(ctx context.Context, env Env, args []string) int {
	fs := newFlagSet("run", "run --config FILE", env.Stderr)
	path := fs.String("config", defaultConfigPath(), "the calsync YAML file (a vendor CalendarSyncExchange.config.xml is referenced from it with exchange.vendor_config)")
	if code := fs.parse(args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return fs.fail("unexpected argument %q; give the config file with --config FILE", fs.Arg(0))
	}
	cfg, err := config.LoadFile(*path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "calsync run: %v\n", err)
		return 2
	}
	logOut := env.Stderr
	if service.IsWindowsService() {
		w, err := service.LogWriter("calsync")
		if err != nil {
			fmt.Fprintf(env.Stderr, "calsync run: opening the event log: %v\n", err)
			return 1
		}
		defer w.Close()
		logOut = w
	}
	logger, err := newLogger(logOut, cfg.Logging.Level, cfg.Logging.Format)
	if err != nil {
		fmt.Fprintf(env.Stderr, "calsync run: %v\n", err)
		return 2
	}
	for _, w := range cfg.Warnings {
		logger.Warn("config", "problem", w.String())
	}
	opts := app.Options{Config: cfg, Logger: logger, MemoryLimit: memoryLimit(logger)}
	if !service.IsWindowsService() {
		return runApp(ctx, env, logger, opts)
	}
	// Under the Windows Service Control Manager: stop/shutdown cancel the
	// context, "paramchange" reloads like SIGHUP.
	reload := make(chan os.Signal, 1)
	env.Reload = reload
	code := 0
	err = service.Run(ctx, "calsync", func(ctx context.Context) error {
		if code = runApp(ctx, env, logger, opts); code != 0 {
			return fmt.Errorf("calsync exited with code %d", code)
		}
		return nil
	}, service.Options{Reload: reload})
	if err != nil {
		logger.Error("service", "err", err)
		return 1
	}
	return code
}

// runApp runs an instance until ctx ends, turning SIGHUP into reloads.
func runApp(ctx context.Context, env Env, logger *slog.Logger, opts app.Options) int {
	a, err := app.New(ctx, opts)
	if err != nil {
		logger.Error("calsync cannot start", "err", err)
		return 1
	}
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-env.Reload:
				if !ok {
					return
				}
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	}()
	if err := a.Run(ctx, reload); err != nil {
		logger.Error("calsync stopped with an error", "err", err)
		return 1
	}
	logger.Info("calsync stopped")
	return 0
}

// memoryLimit sets the Go runtime's soft memory limit for the mailboxes
// the instance syncs (internal/memlimit; GOMEMLIMIT overrides it) and logs
// each new value.
func memoryLimit(logger *slog.Logger) func(int) {
	var last int64
	return func(mailboxes int) {
		limit := memlimit.SetForMailboxes(mailboxes)
		if limit == last {
			return
		}
		last = limit
		if memlimit.Off(limit) {
			logger.Info("Go memory limit off (GOMEMLIMIT=off)", "mailboxes", mailboxes)
			return
		}
		logger.Info("Go memory limit", "mib", limit>>20, "mailboxes", mailboxes, "from", memlimit.Source())
	}
}

func defaultConfigPath() string {
	if p := os.Getenv("CALSYNC_CONFIG"); p != "" {
		return p
	}
	return "/etc/calsync/calsync.yaml"
}
