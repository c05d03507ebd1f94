// Package check implements `calsync check`: it verifies, in order, that the
// configuration is usable, that Exchange is reachable over a verified TLS
// connection, that the service account authenticates, which Exchange version
// answers, that Autodiscover knows every user (and how they fall into
// affinity groups), that the service account may impersonate every
// configured user, that a streaming and a pull subscription work end to end,
// and whether Exchange throttles calsync. Every problem comes with the users
// it affects and the PowerShell command or configuration setting that fixes
// it.
//
// Run is the library entry point (tests call it against the simulator);
// Main is the command line with its flags, text and JSON reports and exit
// codes.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/ewsconn"
)

// DefaultConcurrency is the number of users checked at once: well below
// Exchange's default EWSMaxConcurrency of 27 per budget.
const DefaultConcurrency = 8

// MaxConcurrency caps Options.Concurrency (Exchange's EWSMaxConcurrency).
const MaxConcurrency = 27

// User is one configured mailbox. UPN and SID are needed only with the
// matching IDType.
type User struct {
	SMTP string
	UPN  string
	SID  string
}

// Budget is the load calsync will put on Exchange (config.Budget), shown
// by the throttling check.
type Budget struct {
	MaxConcurrency    int
	PerServer         int
	PerUser           int
	RequestsPerSecond float64
	MaxBackOff        time.Duration
}

// Options configure Run. Exchange (the config's exchange section: URLs,
// auth, TLS, impersonation, notification mode) and Users are required;
// everything else has a default. The client is built from Exchange by
// internal/ewsconn, the builder `calsync run` uses.
type Options struct {
	// Exchange is what is checked. With no ews_url, the EWS URL next to
	// the Autodiscover endpoint is checked; server_version defaults to
	// Exchange2016, auth.method to ntlm, impersonation.id_type to smtp;
	// a failing streaming check is a failure unless notifications.mode is
	// pull (then a warning).
	Exchange config.Exchange
	// Users are the mailboxes to check.
	Users []User
	// SIP is connectors.sip; when set a test presence is published and
	// removed (sip.go).
	SIP *config.SIPConnector
	// Postgres is store.postgres; when set the database is checked too.
	Postgres *config.Postgres
	// ExchangeOnline is exchange_online; when set the Graph token and
	// every user's mailbox over Graph are checked (alone, instead of the
	// EWS checks; in hybrid, after them).
	ExchangeOnline *config.ExchangeOnline
	// Budget is the configured request budget (shown by the throttling
	// check).
	Budget Budget
	// ScopeName and ScopeGroup name the impersonation management scope and
	// the group it covers, for the fix commands (defaults: the names
	// `calsync setup-script` uses; the group is a placeholder when unknown).
	ScopeName  string
	ScopeGroup string
	// ConfigWarnings are problems found while loading the configuration
	// (reported by the config check).
	ConfigWarnings []string
	// Concurrency bounds the users checked at once (default 8, at most 27).
	Concurrency int
	// Timeout bounds each EWS call (default 30 s).
	Timeout time.Duration
	// StreamWait bounds the wait for the first streaming heartbeat
	// (default 60 s; Exchange sends one at connect).
	StreamWait time.Duration
	// MaxRetryWait is the longest server back-off hint the check waits
	// for before retrying a throttled call (default 5 s); users throttled
	// with longer hints are reported as throttled.
	MaxRetryWait time.Duration
	// ThrottleProbes is the number of quick calls of the throttling probe
	// (default 6).
	ThrottleProbes int
	// HTTPClient replaces the authenticated client built from
	// Exchange.Auth (tests); the connectivity and TLS checks still use the
	// URL.
	HTTPClient ewsclient.HTTPClient
	// TraceDir, if set, receives the exchange with the server, one file
	// per request and per response, credentials redacted (see
	// ewsclient.TraceDir).
	TraceDir string
	// Progress receives the impersonation progress bar (nil: none);
	// ProgressTTY draws a bar in place, otherwise a line every 10 %.
	Progress    io.Writer
	ProgressTTY bool
	// Logger receives debug logs (default: discard). Clock times the
	// checks (default: real time).
	Logger *slog.Logger
	Clock  clock.Clock
}

// runner holds the state shared by the checks of one run.
type runner struct {
	opts     Options
	log      *slog.Logger
	clock    clock.Clock
	endpoint *url.URL
	client   *ewsclient.Client
	http     ewsclient.HTTPClient
	tr       *http.Transport
	report   *Report
	// good is the first user whose impersonation succeeded (streaming,
	// pull and throttling act as this user).
	good string
	// graph is the Graph client built by the Graph token check.
	graph *graphclient.Client
	// probe is the outcome of the authentication probe (version check).
	probe probeResult
	// mu guards throttled and backOff (the impersonation workers share them).
	mu sync.Mutex
	// throttled counts throttling signals seen by every check.
	throttled map[string]int
	// backOff is the longest back-off hint seen.
	backOff time.Duration
}

// Run performs every check and returns the report. Unusable options are
// reported by the config check (and stop the run); the error is only for a
// cancelled context, and even then the report holds the checks done so far.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &runner{opts: o, log: o.Logger, clock: o.Clock, throttled: map[string]int{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clock == nil {
		r.clock = clock.Real{}
	}
	r.applyDefaults()
	r.report = &Report{Schema: SchemaVersion, Account: o.Exchange.Auth.Username, Users: len(o.Users), Status: StatusOK,
		StartedAt: r.clock.Now().UTC().Truncate(time.Second)}
	if u, err := url.Parse(r.opts.Exchange.EWSURL); err == nil {
		r.report.Endpoint = u.Redacted()
	}

	steps := []step{
		{IDConfig, "Configuration", r.checkConfig},
		{IDConnectivity, "Connectivity", r.checkConnectivity},
		{IDTLS, "TLS", r.checkTLS},
		{IDAuthentication, "Authentication", r.checkAuthentication},
		{IDVersion, "EWS version", r.checkVersion},
		{IDAutodiscover, "Autodiscover", r.checkAutodiscover},
		{IDImpersonation, "Impersonation", r.checkImpersonation},
		{IDStreaming, "Streaming", r.checkStreaming},
		{IDPull, "Pull", r.checkPull},
		{IDAutomaticReplies, "Automatic replies", r.checkAutomaticReplies},
		{IDThrottling, "Throttling", r.checkThrottling},
	}
	if o.ExchangeOnline != nil {
		if !r.hybrid() { // Exchange Online alone: no EWS to check
			steps = steps[:0]
			r.report.Endpoint = o.ExchangeOnline.GraphURL
		}
		steps = append(steps, r.graphSteps()...)
	}
	if o.Postgres != nil {
		steps = slices.Insert(steps, min(1, len(steps)), step{IDDatabase, "Database", r.checkDatabase})
	}
	if o.SIP != nil {
		steps = append(steps, step{IDSIP, "SIP presence", r.checkSIP})
	}
	blocked := ""
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return r.report, fmt.Errorf("check: %w", err)
		}
		start := r.clock.Now()
		var res Result
		if blocked != "" {
			res = Result{Status: StatusSkip, Summary: "skipped: " + blocked}
		} else {
			res = s.run(ctx)
		}
		res.ID, res.Title = s.id, s.title
		res.DurationMS = r.clock.Now().Sub(start).Milliseconds()
		r.report.add(res)
		if blocked == "" && res.Status == StatusFail && blocksLater(s.id) {
			blocked = strings.ToLower(s.title) + " failed"
		}
	}
	if err := ctx.Err(); err != nil {
		return r.report, fmt.Errorf("check: %w", err)
	}
	return r.report, nil
}

// step is one check of a run.
type step struct {
	id, title string
	run       func(context.Context) Result
}

// blocksLater reports whether a failure of check id makes the later checks
// meaningless.
func blocksLater(id string) bool {
	switch id {
	case IDConfig, IDConnectivity, IDTLS, IDAuthentication, IDGraphToken:
		return true
	}
	return false
}

func (r *runner) applyDefaults() {
	o := &r.opts
	x := &o.Exchange
	if x.ServerVersion == "" {
		x.ServerVersion = string(ews.Exchange2016)
	}
	if x.Auth.Method == "" {
		x.Auth.Method = config.AuthNTLM
	}
	if x.Impersonation.IDType == "" {
		x.Impersonation.IDType = config.ImpersonateSMTP
	}
	if x.EWSURL == "" && x.AutodiscoverURL != "" {
		x.EWSURL = ewsNextTo(x.AutodiscoverURL)
		o.ConfigWarnings = append(o.ConfigWarnings, "exchange.ews_url is not set; checking "+x.EWSURL+" next to the Autodiscover endpoint")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Concurrency > MaxConcurrency {
		o.Concurrency = MaxConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.StreamWait <= 0 {
		o.StreamWait = 60 * time.Second
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = 5 * time.Second
	}
	if o.ThrottleProbes <= 0 {
		o.ThrottleProbes = 6
	}
	if o.Budget == (Budget{}) {
		d := config.Defaults().Budget
		o.Budget = Budget{MaxConcurrency: d.MaxConcurrency, PerServer: d.PerServer, PerUser: d.PerUser,
			RequestsPerSecond: d.RequestsPerSecond, MaxBackOff: d.MaxBackOff}
	}
	if o.ScopeName == "" {
		o.ScopeName = "calsync impersonation scope"
	}
}

// streaming reports whether streaming notifications are configured.
func (r *runner) streaming() bool { return r.opts.Exchange.Notifications.Mode != config.Pull }

// version is the RequestServerVersion sent.
func (r *runner) version() ews.ExchangeVersion {
	return ews.ExchangeVersion(r.opts.Exchange.ServerVersion)
}

// checkConfig validates the options and builds the client.
func (r *runner) checkConfig(context.Context) Result {
	o := r.opts
	x := o.Exchange
	var problems []string
	u, err := url.Parse(x.EWSURL)
	switch {
	case x.EWSURL == "":
		problems = append(problems, "no EWS URL: set exchange.ews_url (https://mail.example.com/EWS/Exchange.asmx)")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		problems = append(problems, fmt.Sprintf("exchange.ews_url %q is not an absolute http(s) URL", x.EWSURL))
	case u.User != nil:
		problems = append(problems, "exchange.ews_url must not contain credentials; use exchange.auth")
	default:
		r.endpoint = u
	}
	switch x.Auth.Method {
	case config.AuthBasic, config.AuthNTLM:
		if x.Auth.Username == "" && o.HTTPClient == nil {
			problems = append(problems, "no service account: set exchange.auth.username")
		}
		if !x.Auth.Password.IsSet() && o.HTTPClient == nil {
			problems = append(problems, "no password: set exchange.auth.password_env or exchange.auth.password_file")
		}
	case config.AuthOAuth2:
		if (x.Auth.OAuth2.TokenURL == "" || x.Auth.OAuth2.ClientID == "") && o.HTTPClient == nil {
			problems = append(problems, "oauth2 needs exchange.auth.oauth2 (token_url, client_id, client_secret_env)")
		}
	default:
		problems = append(problems, fmt.Sprintf("unknown auth method %q; expected basic, ntlm or oauth2", x.Auth.Method))
	}
	if err := r.version().Sendable(); err != nil {
		problems = append(problems, fmt.Sprintf("exchange.server_version %q is not usable; expected Exchange2013_SP1 or Exchange2016", x.ServerVersion))
	}
	if len(o.Users) == 0 {
		problems = append(problems, "no users to check: set users.static, users.csv_file or users.ldap")
	}
	for i, usr := range o.Users {
		if !strings.Contains(usr.SMTP, "@") {
			problems = append(problems, fmt.Sprintf("user %d %q is not an SMTP address", i+1, usr.SMTP))
		}
	}
	if len(problems) == 0 {
		if err := r.buildClient(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return Result{Status: StatusFail, Summary: fmt.Sprintf("%d %s", len(problems), plural(len(problems), "problem", "problems")),
			Details: append(problems, o.ConfigWarnings...), Fix: []string{"correct the configuration; `calsync config validate FILE` lists every problem with its line"}}
	}
	res := Result{Status: StatusOK, Summary: fmt.Sprintf("%s, auth %s, %d %s, impersonation by %s",
		r.report.Endpoint, x.Auth.Method, len(o.Users), plural(len(o.Users), "user", "users"), x.Impersonation.IDType)}
	if len(o.ConfigWarnings) > 0 {
		res.Status = StatusWarn
		res.Summary += fmt.Sprintf("; %d %s", len(o.ConfigWarnings), plural(len(o.ConfigWarnings), "warning", "warnings"))
		res.Details = append(res.Details, o.ConfigWarnings...)
	}
	return res
}

// buildClient builds the transport, the authenticated HTTP client and the
// EWS client with internal/ewsconn, as `calsync run` does; only the
// timeouts and the User-Agent differ.
func (r *runner) buildClient() error {
	c, err := ewsconn.New(r.opts.Exchange, ewsconn.Options{Logger: r.log, Timeout: r.opts.Timeout,
		StreamIdleTimeout: r.opts.StreamWait, UserAgent: "calsync-check", HTTPClient: r.opts.HTTPClient, TraceDir: r.opts.TraceDir})
	if err != nil {
		return err
	}
	r.tr, r.http, r.client = c.Transport, c.HTTP, c.Client
	return nil
}

// connectingSID names a user for impersonation in the configured form.
func (r *runner) connectingSID(u User) (ews.ConnectingSID, error) {
	switch r.opts.Exchange.Impersonation.IDType {
	case config.ImpersonateUPN:
		if u.UPN == "" {
			return ews.ConnectingSID{}, errors.New("no user principal name known for this user")
		}
		return ews.ConnectingSID{Kind: ews.SIDPrincipalName, Value: u.UPN, Anchor: u.SMTP}, nil
	case config.ImpersonateSID:
		if u.SID == "" {
			return ews.ConnectingSID{}, errors.New("no SID known for this user")
		}
		return ews.ConnectingSID{Kind: ews.SIDSecurityID, Value: u.SID, Anchor: u.SMTP}, nil
	}
	return ews.ImpersonateSMTP(u.SMTP), nil
}

// noteThrottle records a throttling signal carried by err, if any.
func (r *runner) noteThrottle(err error) bool {
	code, ok := throttleSignal(err)
	if !ok {
		return false
	}
	d, _ := ews.RetryAfter(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.throttled[code]++
	if d > r.backOff {
		r.backOff = d
	}
	return true
}

// throttleSignal names the throttling signal in err.
func throttleSignal(err error) (string, bool) {
	switch {
	case ews.IsCode(err, ews.ErrorServerBusy):
		return string(ews.ErrorServerBusy), true
	case ews.IsCode(err, ews.ErrorExceededConnectionCount):
		return string(ews.ErrorExceededConnectionCount), true
	case ews.IsCode(err, ews.ErrorExceededSubscriptionCount):
		return string(ews.ErrorExceededSubscriptionCount), true
	}
	var he *ews.HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusServiceUnavailable {
		return "HTTP 503", true
	}
	return "", false
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
