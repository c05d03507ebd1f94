package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/calsync/calsync/app"
	"github.com/calsync/calsync/check"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/bench"
	"github.com/calsync/calsync/internal/service"
	"github.com/calsync/calsync/internal/simcmd"
	"github.com/calsync/calsync/setupscript"
)

// newFlagSet returns a flag set that prints its usage to stderr and
// reports errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("calsync "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: calsync %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags returns -1 to continue, or the exit code (0 for --help, 2 for bad flags).
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	return -1
}

// newLogger builds the process logger from the logging section.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if level == "" {
		level = "info"
	}
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("logging.level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func runBench(ctx context.Context, env Env, args []string) int {
	return bench.Main(ctx, args, env.Stdout, env.Stderr)
}

func runCheck(ctx context.Context, env Env, args []string) int {
	return check.Main(ctx, args, env.Stdout, env.Stderr)
}

func runSim(ctx context.Context, env Env, args []string) int {
	return simcmd.Main(ctx, args, env.Stdout, env.Stderr)
}

func runConfig(_ context.Context, env Env, args []string) int {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(env.Stderr, "Usage: calsync config validate FILE\n\nChecks a calsync YAML file or a vendor CalendarSyncExchange.config.xml and reports every problem with file, line and column.")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	if len(args) != 2 {
		fmt.Fprintln(env.Stderr, "Usage: calsync config validate FILE")
		return 2
	}
	v := config.Validate(args[1])
	fmt.Fprint(env.Stdout, v)
	if !v.OK() {
		return 1
	}
	return 0
}

func runSetupScript(_ context.Context, env Env, args []string) int {
	fs := newFlagSet("setup-script", "setup-script --account DOMAIN\\svc-calsync (--group NAME | --users a@x,b@x) [flags]", env.Stderr)
	var p setupscript.Params
	var users string
	fs.StringVar(&p.Account, "account", "", "the calsync service account (DOMAIN\\user, UPN or alias); required")
	fs.StringVar(&p.GroupName, "group", "", "limit impersonation to the members of this group")
	fs.StringVar(&users, "users", "", "limit impersonation to these comma-separated SMTP addresses (when no --group)")
	fs.StringVar(&p.ScopeName, "scope-name", "", "name of the management scope (default "+setupscript.DefaultScopeName+")")
	fs.StringVar(&p.AssignmentName, "assignment-name", "", "name of the role assignment (default "+setupscript.DefaultAssignmentName+")")
	fs.BoolVar(&p.WithThrottlingPolicy, "throttling-policy", false, "also create a moderate throttling policy for the service account (not needed with Exchange's defaults)")
	fs.StringVar(&p.PolicyName, "policy-name", "", "name of that throttling policy (default "+setupscript.DefaultPolicyName+")")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	for _, u := range strings.Split(users, ",") {
		if u = strings.TrimSpace(u); u != "" {
			p.Users = append(p.Users, u)
		}
	}
	if err := setupscript.Generate(env.Stdout, p); err != nil {
		fmt.Fprintln(env.Stderr, "calsync setup-script:", err)
		return 2
	}
	return 0
}

func runRun(ctx context.Context, env Env, args []string) int {
	fs := newFlagSet("run", "run --config FILE", env.Stderr)
	path := fs.String("config", defaultConfigPath(), "the calsync YAML file (a vendor CalendarSyncExchange.config.xml is referenced from it with exchange.vendor_config)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "calsync run: unexpected argument %q; give the config file with --config FILE\n", fs.Arg(0))
		return 2
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
	if !service.IsWindowsService() {
		return runApp(ctx, env, logger, app.Options{Config: cfg, Logger: logger})
	}
	// Under the Windows Service Control Manager: stop/shutdown cancel the
	// context, "paramchange" reloads like SIGHUP.
	reload := make(chan os.Signal, 1)
	env.Reload = reload
	code := 0
	err = service.Run(ctx, "calsync", func(ctx context.Context) error {
		if code = runApp(ctx, env, logger, app.Options{Config: cfg, Logger: logger}); code != 0 {
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

func defaultConfigPath() string {
	if p := os.Getenv("CALSYNC_CONFIG"); p != "" {
		return p
	}
	return "/etc/calsync/calsync.yaml"
}
