package check

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/ews"
)

// Exit codes of Main.
const (
	ExitOK     = 0 // every check ok (warnings allowed unless --strict)
	ExitFailed = 1 // at least one check failed (or warned, with --strict)
	ExitUsage  = 2 // bad flags, unreadable or invalid configuration
)

// Command is `calsync check` with replaceable inputs. The zero value reads
// the users from the configuration's users section (static, CSV, LDAP)
// and secrets from the process environment.
type Command struct {
	// Users lists the users to check; default: directory.FromConfig.
	Users func(ctx context.Context, cfg *config.Config) ([]User, error)
	// LookupEnv reads environment variables (--password-env); default
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
}

// Main runs `calsync check` with the default Command.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return (&Command{}).Run(ctx, args, stdout, stderr)
}

// flags are the command line of `calsync check`.
type flags struct {
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
}

// errFlagsReported: the flag package already printed the problem and the
// usage.
var errFlagsReported = errors.New("calsync check: invalid flags")

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("calsync check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: calsync check --config FILE [--json] [--strict] [--concurrency N] [--timeout D] [--no-progress]")
		fmt.Fprintln(stderr, "       calsync check --ews-url URL --username USER --password-env VAR --users a@x,b@x [...]")
		fmt.Fprintln(stderr, "\nVerifies connectivity, TLS, authentication, EWS version, Autodiscover, impersonation of every")
		fmt.Fprintln(stderr, "user, streaming and pull notifications and throttling, and prints how to fix what fails.")
		fmt.Fprintln(stderr, "Exit code: 0 ok, 1 a check failed (or warned, with --strict), 2 usage or configuration error.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
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
	fs.BoolVar(&f.json, "json", false, "print the report as JSON (schema "+SchemaVersion+")")
	fs.BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no progress output on stderr")
	fs.IntVar(&f.concurrency, "concurrency", DefaultConcurrency, fmt.Sprintf("users checked at once (1..%d)", MaxConcurrency))
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each EWS call")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errFlagsReported // the flag package printed it with the usage
	}
	if f.method != "" && f.method != "basic" && f.method != "ntlm" && f.method != "oauth2" {
		return nil, fmt.Errorf("--auth-method %q: expected basic, ntlm or oauth2", f.method)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.configPath == "" && f.ewsURL == "" {
		return nil, errors.New("--config FILE is required (or --ews-url with --username, --password-env and --users)")
	}
	if f.concurrency < 1 || f.concurrency > MaxConcurrency {
		return nil, fmt.Errorf("--concurrency %d out of range 1..%d", f.concurrency, MaxConcurrency)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("--timeout must be positive")
	}
	if f.idType != "" && f.idType != string(IDSMTP) && f.idType != string(IDUPN) && f.idType != string(IDSID) {
		return nil, fmt.Errorf("--id-type %q: expected smtp, upn or sid", f.idType)
	}
	return f, nil
}

// Run parses args, checks and writes the report to stdout; it returns the
// exit code.
func (c *Command) Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if errors.Is(err, errFlagsReported) {
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "calsync check: %v\n", err)
		return ExitUsage
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o, code := c.options(ctx, f, stderr)
	if code != ExitOK {
		return code
	}
	o.Logger = log
	if !f.noProgress {
		o.Progress = stderr
		o.ProgressTTY = isTerminal(stderr)
	}
	rep, err := Run(ctx, o)
	if err != nil && rep == nil {
		fmt.Fprintf(stderr, "calsync check: %v\n", err)
		return ExitUsage
	}
	if f.json {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "calsync check: %v\n", err)
		return ExitFailed
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "calsync check: interrupted")
		return ExitFailed
	}
	if res, ok := rep.Result(IDConfig); ok && res.Status == StatusFail {
		return ExitUsage
	}
	return rep.ExitCode(f.strict)
}

// options builds the Options from the configuration file and the flags.
func (c *Command) options(ctx context.Context, f *flags, stderr io.Writer) (Options, int) {
	cfg := config.Defaults()
	if f.configPath != "" {
		loaded, err := config.LoadFile(f.configPath)
		if err != nil {
			fmt.Fprintf(stderr, "calsync check: the configuration is not valid:\n%v\n", err)
			return Options{}, ExitUsage
		}
		cfg = loaded
	}
	if f.method != "" {
		cfg.Exchange.Auth.Method = config.AuthMethod(f.method)
	}
	x := cfg.Exchange
	streaming := x.Notifications.Mode != config.Pull
	o := Options{
		EWSURL:             x.EWSURL,
		AutodiscoverURL:    x.AutodiscoverURL,
		Version:            ews.ExchangeVersion(x.ServerVersion),
		Method:             AuthMethod(x.Auth.Method),
		Username:           x.Auth.Username,
		Password:           x.Auth.Password.Value(),
		CAFile:             x.TLS.CAFile,
		InsecureSkipVerify: x.TLS.InsecureSkipVerify,
		IDType:             IDType(x.Impersonation.IDType),
		Streaming:          &streaming,
		Budget: Budget{MaxConcurrency: cfg.Budget.MaxConcurrency, PerServer: cfg.Budget.PerServer, PerUser: cfg.Budget.PerUser,
			RequestsPerSecond: cfg.Budget.RequestsPerSecond, MaxBackOff: cfg.Budget.MaxBackOff},
		ScopeName:   f.scopeName,
		ScopeGroup:  f.scopeGroup,
		Concurrency: f.concurrency,
		Timeout:     f.timeout,
	}
	for _, w := range cfg.Warnings {
		o.ConfigWarnings = append(o.ConfigWarnings, w.String())
	}
	if x.Auth.Method == config.AuthOAuth2 {
		cc := clientcredentials.Config{ClientID: x.Auth.OAuth2.ClientID, ClientSecret: x.Auth.OAuth2.ClientSecret.Value(),
			TokenURL: x.Auth.OAuth2.TokenURL, Scopes: x.Auth.OAuth2.Scopes}
		o.TokenSource = cc.TokenSource(context.WithoutCancel(ctx))
	}
	// Flags override the file.
	if f.ewsURL != "" {
		o.EWSURL = f.ewsURL
	}
	if f.autodiscoverURL != "" {
		o.AutodiscoverURL = f.autodiscoverURL
	}
	if f.username != "" {
		o.Username = f.username
	}
	if f.passwordEnv != "" {
		lookup := c.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(f.passwordEnv)
		if !ok || v == "" {
			fmt.Fprintf(stderr, "calsync check: --password-env: environment variable %s is not set\n", f.passwordEnv)
			return Options{}, ExitUsage
		}
		o.Password = v
	}
	if f.caFile != "" {
		o.CAFile = f.caFile
	}
	if f.idType != "" {
		o.IDType = IDType(f.idType)
	}
	if o.EWSURL == "" && o.AutodiscoverURL != "" {
		o.EWSURL = ewsNextTo(o.AutodiscoverURL)
		o.ConfigWarnings = append(o.ConfigWarnings, "exchange.ews_url is not set; checking "+o.EWSURL+" next to the Autodiscover endpoint")
	}
	users, err := c.users(ctx, cfg, f)
	if err != nil {
		fmt.Fprintf(stderr, "calsync check: cannot list the users: %v\n", err)
		return Options{}, ExitUsage
	}
	o.Users = users
	return o, ExitOK
}

// users lists the users: --users / --users-csv, else the configuration's
// sources.
func (c *Command) users(ctx context.Context, cfg *config.Config, f *flags) ([]User, error) {
	u := cfg.Users
	if f.users != "" || f.usersCSV != "" {
		u = config.Users{CSVFile: f.usersCSV}
		for _, s := range strings.Split(f.users, ",") {
			if s = strings.TrimSpace(s); s != "" {
				u.Static = append(u.Static, s)
			}
		}
	} else if c.Users != nil {
		return c.Users(ctx, cfg)
	}
	if len(u.Static) == 0 && u.CSVFile == "" && u.LDAP == nil {
		return nil, errors.New("no users: set users in the configuration, or pass --users or --users-csv")
	}
	src, err := directory.FromConfig(u, c.Logger)
	if err != nil {
		return nil, err
	}
	list, err := src.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(list))
	for i, du := range list {
		out[i] = User{SMTP: du.SMTP, UPN: du.UPN, SID: du.SID}
	}
	return out, nil
}

// ewsNextTo returns https://<autodiscover host>/EWS/Exchange.asmx.
func ewsNextTo(autodiscover string) string {
	scheme, rest, ok := strings.Cut(autodiscover, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host + "/EWS/Exchange.asmx"
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
