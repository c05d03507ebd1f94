// `calsync sim`: the Exchange simulator (ews/ewsserver/ewssim) served over
// HTTP for manual poking, demos and external clients such as exchangelib.

package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphserver/hybrid"
)

// simFlags holds the parsed flags of `calsync sim`.
type simFlags struct {
	listen         string
	mailboxes      int
	domain         string
	serviceAccount string
	password       string
	seed           uint64
	servers        int
	latency        time.Duration
	itemLatency    time.Duration
	churn          float64
	throttling     string
	syncCalls      int
	mailTips       int
	auth           string
	heartbeat      time.Duration
	scope          string
	generate       bool
	clock          string
	fullAccess     string
	schemaNS       bool
	logLevel       string
	tlsSelfSigned  bool
	tlsCert        string
	tlsKey         string
	graph          graphFlags
}

// parseSimFlags returns the flags, or nil and the exit code.
func parseSimFlags(args []string, stderr io.Writer) (*simFlags, int) {
	c := &simFlags{}
	fs := newFlagSet("sim", "sim [flags]", stderr)
	fs.about = "Runs an in-memory Exchange 2016/2019 that speaks EWS. When ready it prints\n" +
		"\"EWS endpoint: <url>\" on stdout, then the Autodiscover URL and the credentials\n" +
		"it accepts. The JSON control API is under /sim/v1/."
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "`address` to serve EWS, Autodiscover and /sim/v1/ on (host:port; port 0 picks a free one)")
	fs.IntVar(&c.mailboxes, "mailboxes", 10, "number of user mailboxes user1@DOMAIN … userN@DOMAIN")
	fs.StringVar(&c.domain, "domain", "example.com", "SMTP `domain` of the mailboxes")
	fs.StringVar(&c.serviceAccount, "service-account", "", "service account with ApplicationImpersonation (default svc-calsync@DOMAIN)")
	fs.StringVar(&c.password, "password", "password", "password of the service account and of every user")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the generated calendars, routing and churn (same seed, same data)")
	fs.IntVar(&c.servers, "servers", 2, "number of simulated mailbox servers the mailboxes are spread over")
	fs.DurationVar(&c.latency, "latency", 0, "latency added to every EWS operation (e.g. 50ms)")
	fs.DurationVar(&c.itemLatency, "item-latency", 0, "simulated execution time of each item of a GetItem/CreateItem/UpdateItem/DeleteItem batch; batches past one minute answer ErrorBatchProcessingStopped for the rest")
	fs.Float64Var(&c.churn, "churn", 0, "calendar changes per second spread over the mailboxes (0 = none)")
	fs.StringVar(&c.throttling, "throttling", "default", "throttling policy: default (Exchange 2016/2019 defaults), exo (EWSMaxSubscriptions 20) or unlimited (like NoThrottlingPolicy)")
	fs.IntVar(&c.syncCalls, "concurrent-sync-calls", 0, "ConcurrentSyncCalls: SyncFolderItems calls in flight per budget before ErrorServerBusy (0 = the --throttling policy's value, 5 unless unlimited; -1 = unlimited)")
	fs.IntVar(&c.mailTips, "mailtips-recipients", ews.DefaultMaxMailTipsRecipients, "MaxRecipientsPerGetMailTipsRequest: recipients one GetMailTips may name (reported by GetServiceConfiguration; more fail the request)")
	fs.StringVar(&c.auth, "auth", "basic,ntlm", "accepted authentication: comma-separated basic, ntlm, or none")
	fs.DurationVar(&c.heartbeat, "heartbeat", 45*time.Second, "streaming ConnectionStatus OK interval")
	fs.StringVar(&c.scope, "impersonation-scope", "", "comma-separated addresses the service account may impersonate (default: all)")
	fs.BoolVar(&c.generate, "generate", true, "fill the mailboxes with seeded calendars")
	fs.StringVar(&c.clock, "clock", "", "start the simulator's clock at this RFC 3339 `instant` (e.g. 2027-03-27T20:00:00Z); it runs on from there, and POST /sim/v1/clock moves it")
	fs.StringVar(&c.fullAccess, "full-access", "", "comma-separated `accounts` granted FullAccess to every mailbox (delegate access, as Add-MailboxPermission grants it)")
	fs.BoolVar(&c.schemaNS, "schema-notification-namespace", false, "write streaming notifications as the schema's t:Notification (default m:Notification, as Exchange sends them)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&c.tlsSelfSigned, "tls", false, "serve HTTPS with a self-signed certificate generated at start (its SHA-256 fingerprint is logged)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate `file` (with --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key `file` for --tls-cert")
	c.graph.register(fs)
	if code := fs.parse(args); code >= 0 {
		return nil, code
	}
	if fs.NArg() > 0 {
		return nil, fs.fail("unexpected argument %q", fs.Arg(0))
	}
	if err := c.validate(); err != nil {
		return nil, fs.fail("%v", err)
	}
	return c, -1
}

// validate checks the values of the flags.
func (c *simFlags) validate() error {
	switch {
	case c.mailboxes < 0 || c.mailboxes > 1000000:
		return fmt.Errorf("--mailboxes %d out of range 0..1000000", c.mailboxes)
	case c.servers < 1 || c.servers > 100:
		return fmt.Errorf("--servers %d out of range 1..100", c.servers)
	case c.latency < 0:
		return fmt.Errorf("--latency must not be negative")
	case c.itemLatency < 0:
		return fmt.Errorf("--item-latency must not be negative")
	case c.churn < 0:
		return fmt.Errorf("--churn must not be negative")
	case c.heartbeat < time.Second:
		return fmt.Errorf("--heartbeat %s is shorter than 1s", c.heartbeat)
	case c.mailTips < 1:
		return fmt.Errorf("--mailtips-recipients %d: want at least 1", c.mailTips)
	case c.syncCalls < -1:
		return fmt.Errorf("--concurrent-sync-calls %d: want -1 (unlimited), 0 (policy default) or a positive limit", c.syncCalls)
	case c.throttling != "default" && c.throttling != "unlimited" && c.throttling != "exo":
		return fmt.Errorf("--throttling %q: want default, exo or unlimited", c.throttling)
	case c.password == "":
		return fmt.Errorf("--password must not be empty")
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return fmt.Errorf("--tls-cert and --tls-key go together")
	case c.tlsSelfSigned && c.tlsCert != "":
		return fmt.Errorf("--tls and --tls-cert exclude each other")
	}
	if err := c.graph.validate(c.mailboxes); err != nil {
		return err
	}
	if c.clock != "" {
		if _, err := time.Parse(time.RFC3339, c.clock); err != nil {
			return fmt.Errorf("--clock %q: want an RFC 3339 instant such as 2027-03-27T20:00:00Z", c.clock)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: expected debug, info, warn or error", c.logLevel)
	}
	for _, a := range splitList(c.auth) {
		if a != "basic" && a != "ntlm" && a != "none" {
			return fmt.Errorf("--auth %q: want basic, ntlm or none", a)
		}
	}
	return nil
}

// runSim runs the simulator until ctx is cancelled and returns the exit
// code (0 after a clean shutdown, 1 on failure, 2 on bad flags).
func runSim(ctx context.Context, env Env, args []string) int {
	stdout, stderr := env.Stdout, env.Stderr
	c, code := parseSimFlags(args, stderr)
	if c == nil {
		return code
	}
	if err := serveSim(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "calsync sim:", err)
		return 1
	}
	return 0
}

// policyOf is the throttling policy the flags select.
func policyOf(c *simFlags) ewsmem.Policy {
	policy := ewsmem.DefaultPolicy()
	switch c.throttling {
	case "unlimited":
		policy = ewsmem.UnlimitedPolicy()
	case "exo":
		policy = ewsmem.ExchangeOnlinePolicy()
	}
	switch {
	case c.syncCalls < 0:
		policy.ConcurrentSyncCalls = ewsmem.Unlimited
	case c.syncCalls > 0:
		policy.ConcurrentSyncCalls = c.syncCalls
	}
	return policy
}

// simOptions turns the flags into the simulator's options.
func simOptions(c *simFlags, logger *slog.Logger) ewssim.Options {
	policy := policyOf(c)
	o := ewssim.Options{Generate: c.generate, Options: ewsmem.Options{Logger: logger, Domain: c.domain, Mailboxes: c.mailboxes, Servers: c.servers,
		Seed: c.seed, Policy: &policy, ServiceAccount: c.serviceAccount, Password: c.password, StreamingHeartbeat: c.heartbeat,
		MaxMailTipsRecipients: c.mailTips},
		SchemaNotificationNamespace: c.schemaNS}
	if c.scope != "" {
		o.ImpersonationScope = splitList(c.scope)
	}
	if c.clock != "" {
		o.Start, _ = time.Parse(time.RFC3339, c.clock) // checked by validate
	}
	for _, a := range splitList(c.auth) {
		switch a {
		case "basic":
			o.Basic = true
		case "ntlm":
			o.NTLM = true
		}
	}
	return o
}

// serveSim serves the simulator the flags describe until ctx ends.
func serveSim(ctx context.Context, c *simFlags, stdout, stderr io.Writer) error {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.logLevel)) // checked by parse
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("component", "sim")
	o := simOptions(c, logger)
	sim, err := hybrid.New(hybrid.Options{Sim: o, Graph: c.graph.options(logger), CloudMailboxes: c.graph.cloudMailboxes})
	if err != nil {
		return err
	}
	defer sim.Close()
	for _, a := range splitList(c.fullAccess) {
		if err := sim.GrantFullAccess(a, "*"); err != nil {
			return fmt.Errorf("--full-access %s: %w", a, err)
		}
	}
	if c.latency > 0 {
		if _, err := sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultLatency, Latency: c.latency}); err != nil {
			return err
		}
	}
	if c.itemLatency > 0 {
		if _, err := sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultItemLatency, Latency: c.itemLatency}); err != nil {
			return err
		}
	}
	if c.churn > 0 {
		if err := sim.StartChurn(c.churn, c.seed); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if c.tlsSelfSigned || c.tlsCert != "" {
		cfg, fingerprint, err := simTLSConfig(c, ln.Addr())
		if err != nil {
			ln.Close()
			return err
		}
		ln = tls.NewListener(ln, cfg)
		scheme = "https"
		logger.Info("serving HTTPS", "certificate_sha256", fingerprint)
	}
	serveCtx, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 30 * time.Second, BaseContext: func(net.Listener) context.Context { return serveCtx },
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("simulator ready", "mailboxes", c.mailboxes, "servers", sim.Servers(), "service_account", sim.ServiceAccount(), "auth", c.auth, "throttling", o.Policy.Name)
	access := simAccess{base: fmt.Sprintf("%s://%s", scheme, ln.Addr()), account: sim.ServiceAccount(), password: c.password, domain: c.domain, users: c.mailboxes}
	for _, a := range splitList(c.auth) {
		if a != "none" {
			access.auth = append(access.auth, a)
		}
	}
	access.write(stdout, "EWS endpoint")
	users := sim.UserMailboxes()
	c.graph.write(stdout, access.base, users[len(users)-c.graph.cloudMailboxes:])
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	stopStreams()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("simulator stopped")
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}
