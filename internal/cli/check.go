// `calsync check`: flags, the options built from the config file and the
// flags, the report on stdout and the exit code. The checks themselves are
// the internal/check library.

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/internal/check"
)

// Exit codes of `calsync check`.
const (
	checkOK     = 0 // every check ok (warnings allowed unless --strict)
	checkFailed = 1 // at least one check failed (or warned, with --strict)
	checkUsage  = 2 // bad flags, unreadable or invalid configuration
)

// checkCommand is `calsync check` with replaceable inputs. The zero value
// reads the users from the configuration's users section (static, CSV,
// LDAP) and secrets from the process environment.
type checkCommand struct {
	// users lists the users to check; default: directory.FromConfig.
	users func(ctx context.Context, cfg *config.Config) ([]check.User, error)
	// lookupEnv reads environment variables (--password-env); default
	// os.LookupEnv.
	lookupEnv func(string) (string, bool)
	// logger receives debug logs (default: discard).
	logger *slog.Logger
}

func runCheck(ctx context.Context, env Env, args []string) int {
	return (&checkCommand{}).run(ctx, args, env.Stdout, env.Stderr)
}

// checkFlags are the command line of `calsync check`.
type checkFlags struct {
	configPath      string
	ewsURL          string
	autodiscoverURL string
	method          string
	username        string
	passwordEnv     string
	users           string
	usersCSV        string
	caFile          string
	idType          string
	scopeName       string
	scopeGroup      string
	json            bool
	strict          bool
	noProgress      bool
	concurrency     int
	timeout         time.Duration
	traceDir        string
}

// parseCheckFlags returns the flags, or nil and the exit code.
func parseCheckFlags(args []string, stderr io.Writer) (*checkFlags, int) {
	f := &checkFlags{}
	fs := newFlagSet("check", "check --config FILE [--json] [--strict] [--concurrency N] [--timeout D] [--no-progress]\n"+
		"       calsync check --ews-url URL --username USER --password-env VAR --users a@x,b@x [...]", stderr)
	fs.about = "Verifies connectivity, TLS, authentication, EWS version, Autodiscover, impersonation of every\n" +
		"user, streaming and pull notifications and throttling, and prints how to fix what fails.\n" +
		"Exit code: 0 ok, 1 a check failed (or warned, with --strict), 2 usage or configuration error."
	fs.StringVar(&f.configPath, "config", "", "calsync.yaml to check")
	fs.StringVar(&f.ewsURL, "ews-url", "", "EWS URL (instead of, or overriding, exchange.ews_url)")
	fs.StringVar(&f.autodiscoverURL, "autodiscover-url", "", "SOAP Autodiscover URL (overrides exchange.autodiscover_url)")
	fs.StringVar(&f.method, "auth-method", "", "basic, ntlm or oauth2 (overrides exchange.auth.method; default ntlm)")
	fs.StringVar(&f.username, "username", "", "service account, DOMAIN\\user or user@domain (without --config)")
	fs.StringVar(&f.passwordEnv, "password-env", "", "environment variable holding the service account's password (without --config)")
	fs.StringVar(&f.users, "users", "", "comma-separated SMTP addresses to check (replaces the configured users)")
	fs.StringVar(&f.usersCSV, "users-csv", "", "CSV file of users to check (replaces the configured users)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of trusted CAs (overrides exchange.tls.ca_file)")
	fs.StringVar(&f.idType, "id-type", "", "impersonate by smtp, upn or sid (overrides exchange.impersonation.id_type)")
	fs.StringVar(&f.scopeName, "scope-name", "", "name of the impersonation management scope, for the fix commands")
	fs.StringVar(&f.scopeGroup, "scope-group", "", "group the impersonation scope covers, for the fix commands")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON (schema "+check.SchemaVersion+")")
	fs.BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no progress output on stderr")
	fs.IntVar(&f.concurrency, "concurrency", check.DefaultConcurrency, fmt.Sprintf("users checked at once (1..%d)", check.MaxConcurrency))
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each EWS call")
	fs.StringVar(&f.traceDir, "trace", "", "write every request and response to this `folder`, one file each, credentials redacted")
	if code := fs.parse(args); code >= 0 {
		return nil, code
	}
	if f.method != "" && f.method != "basic" && f.method != "ntlm" && f.method != "oauth2" {
		return nil, fs.fail("--auth-method %q: expected basic, ntlm or oauth2", f.method)
	}
	if fs.NArg() > 0 {
		return nil, fs.fail("unexpected argument %q", fs.Arg(0))
	}
	if f.configPath == "" && f.ewsURL == "" {
		return nil, fs.fail("--config FILE is required (or --ews-url with --username, --password-env and --users)")
	}
	if f.concurrency < 1 || f.concurrency > check.MaxConcurrency {
		return nil, fs.fail("--concurrency %d out of range 1..%d", f.concurrency, check.MaxConcurrency)
	}
	if f.timeout <= 0 {
		return nil, fs.fail("--timeout must be positive")
	}
	switch config.ImpersonationIDType(f.idType) {
	case "", config.ImpersonateSMTP, config.ImpersonateUPN, config.ImpersonateSID:
	default:
		return nil, fs.fail("--id-type %q: expected smtp, upn or sid", f.idType)
	}
	return f, -1
}

// run parses args, checks and writes the report to stdout; it returns the
// exit code.
func (c *checkCommand) run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, code := parseCheckFlags(args, stderr)
	if f == nil {
		return code
	}
	log := c.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o, code := c.options(ctx, f, stderr)
	if code != checkOK {
		return code
	}
	o.Logger = log
	if !f.noProgress {
		o.Progress = stderr
		o.ProgressTTY = isTerminal(stderr)
	}
	rep, err := check.Run(ctx, o)
	if err != nil && rep == nil {
		fmt.Fprintf(stderr, "calsync check: %v\n", err)
		return checkUsage
	}
	if f.json {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "calsync check: %v\n", err)
		return checkFailed
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "calsync check: interrupted")
		return checkFailed
	}
	if res, ok := rep.Result(check.IDConfig); ok && res.Status == check.StatusFail {
		return checkUsage
	}
	return rep.ExitCode(f.strict)
}

// options builds the check options from the configuration file and the
// flags (flags override the file).
func (c *checkCommand) options(ctx context.Context, f *checkFlags, stderr io.Writer) (check.Options, int) {
	cfg := config.Defaults()
	if f.configPath != "" {
		loaded, err := config.LoadFile(f.configPath)
		if err != nil {
			fmt.Fprintf(stderr, "calsync check: the configuration is not valid:\n%v\n", err)
			return check.Options{}, checkUsage
		}
		cfg = loaded
	}
	x := &cfg.Exchange
	if f.method != "" {
		x.Auth.Method = config.AuthMethod(f.method)
	}
	if f.ewsURL != "" {
		x.EWSURL = f.ewsURL
	}
	if f.autodiscoverURL != "" {
		x.AutodiscoverURL = f.autodiscoverURL
	}
	if f.username != "" {
		x.Auth.Username = f.username
	}
	if f.passwordEnv != "" {
		lookup := c.lookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(f.passwordEnv)
		if !ok || v == "" {
			fmt.Fprintf(stderr, "calsync check: --password-env: environment variable %s is not set\n", f.passwordEnv)
			return check.Options{}, checkUsage
		}
		x.Auth.Password = config.NewSecret(v, "environment variable "+f.passwordEnv)
	}
	if f.caFile != "" {
		x.TLS.CAFile = f.caFile
	}
	if f.idType != "" {
		x.Impersonation.IDType = config.ImpersonationIDType(f.idType)
	}
	o := check.Options{
		Exchange: *x,
		Budget: check.Budget{MaxConcurrency: cfg.Budget.MaxConcurrency, PerServer: cfg.Budget.PerServer, PerUser: cfg.Budget.PerUser,
			RequestsPerSecond: cfg.Budget.RequestsPerSecond, MaxBackOff: cfg.Budget.MaxBackOff},
		ScopeName:   f.scopeName,
		ScopeGroup:  f.scopeGroup,
		Concurrency: f.concurrency,
		Timeout:     f.timeout,
		TraceDir:    f.traceDir,
		Postgres:    cfg.Store.Postgres,
		SIP:         cfg.Connectors.SIP,
		// exchange_online: the Graph token and every user over Graph.
		ExchangeOnline: cfg.ExchangeOnline,
	}
	for _, w := range cfg.Warnings {
		o.ConfigWarnings = append(o.ConfigWarnings, w.String())
	}
	users, warning, err := c.listUsers(ctx, cfg, f)
	if err != nil {
		fmt.Fprintf(stderr, "calsync check: cannot list the users: %v\n", err)
		return check.Options{}, checkUsage
	}
	if warning != "" {
		o.ConfigWarnings = append(o.ConfigWarnings, warning)
	}
	o.Users = users
	return o, checkOK
}

// listUsers lists the users: --users / --users-csv, else the
// configuration's sources. When the configured directory is unavailable
// the users are the last good list calsync run keeps in its store (what a
// start would sync), and warning says so for the report.
func (c *checkCommand) listUsers(ctx context.Context, cfg *config.Config, f *checkFlags) (users []check.User, warning string, err error) {
	u := cfg.Users
	flags := f.users != "" || f.usersCSV != ""
	if flags {
		u = config.Users{CSVFile: f.usersCSV}
		for _, s := range strings.Split(f.users, ",") {
			if s = strings.TrimSpace(s); s != "" {
				u.Static = append(u.Static, s)
			}
		}
	} else if c.users != nil {
		users, err := c.users(ctx, cfg)
		return users, "", err
	}
	if len(u.Static) == 0 && u.CSVFile == "" && u.LDAP == nil {
		return nil, "", errors.New("no users: set users in the configuration, or pass --users or --users-csv")
	}
	src, err := directory.FromConfig(u, c.logger)
	if err != nil {
		return nil, "", err
	}
	list, err := src.Users(ctx)
	if err != nil && flags {
		return nil, "", err
	}
	if err != nil {
		list, warning = keptUsers(ctx, cfg.Store.Path, err)
	}
	out := make([]check.User, len(list))
	for i, du := range list {
		out[i] = check.User{SMTP: du.SMTP, UPN: du.UPN, SID: du.SID}
	}
	return out, warning, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
