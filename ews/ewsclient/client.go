// Package ewsclient is calsync's Exchange Web Services client: one file per
// operation, typed requests and responses, context first on every call.
//
// A Client talks to one EWS endpoint (https://host/EWS/Exchange.asmx)
// through an injected HTTPClient, so authentication (BasicAuth, NTLMAuth,
// OAuth2), test transports and tracing are decorators. Every call takes a
// Call value that says whom it acts for (impersonation through
// ExchangeImpersonation/ConnectingSID, always with X-AnchorMailbox) and how
// it is routed (an *Affinity carrying the X-BackEndOverrideCookie of a
// subscription group, replayed with X-PreferServerAffinity: true).
//
// Errors are classified, never retried here: *ews.ResponseError (per item
// or per call), *ews.SOAPFault (HTTP 500 faults, including request-level
// throttling with BackOffMilliseconds), *ews.HTTPError (401, 403, 503 with
// or without body, …), *ews.NetworkError and *ews.ProtocolError. Use
// ews.IsCode and ews.RetryAfter to decide; the engine owns the policy.
package ewsclient

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/clock"
)

// HTTPClient sends HTTP requests; *http.Client satisfies it, and the auth
// decorators of this package wrap it.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// Options configure a Client. A nil *Options means the zero value; every
// field has a default.
type Options struct {
	// HTTPClient sends the requests. Default: NewHTTPClient(nil), without
	// authentication (wrap it with BasicAuth, NTLMAuth or OAuth2).
	HTTPClient HTTPClient
	// Version is sent as RequestServerVersion: Exchange2013_SP1 (default)
	// or Exchange2016. Other values are refused by New.
	Version ews.ExchangeVersion
	// Timeout bounds each call that has no Call.Timeout (default 100 s).
	// GetStreamingEvents is bounded by its ConnectionTimeout instead.
	Timeout time.Duration
	// StreamIdleTimeout ends a GetStreamingEvents connection that sends
	// nothing for this long (default 90 s: Exchange sends a heartbeat every
	// 45 s).
	StreamIdleTimeout time.Duration
	// MaxResponseBytes bounds one response envelope (default 32 MiB; 8 MiB
	// per envelope of a streaming response).
	MaxResponseBytes int64
	// MaxDepth bounds element nesting in responses (default 64).
	MaxDepth int
	// Trace, if set, receives every request and response, with
	// Authorization and cookies redacted.
	Trace io.Writer
	// Logger receives debug and warning logs (default: discard).
	Logger *slog.Logger
	// Clock drives the streaming idle watchdog (default: real time).
	Clock clock.Clock
	// UserAgent is sent with every request (default "calsync-ewsclient").
	UserAgent string
}

// Client is an EWS client for one endpoint. It is safe for concurrent use.
type Client struct {
	endpoint    *url.URL
	endpointURL string // endpoint.String()
	// endpoints maps the calls' endpoints (Call.Endpoint) to their checked
	// form; endpointsKept counts what it holds.
	endpoints     sync.Map
	endpointsKept atomic.Int64
	http          HTTPClient
	version       ews.ExchangeVersion
	timeout       time.Duration
	idleTimeout   time.Duration
	limits        ewswire.Limits
	log           *slog.Logger
	clock         clock.Clock
	userAgent     string
	trace         *tracer
	// serverVersion is the last ServerVersionInfo header seen.
	serverVersion atomic.Pointer[ews.ServerVersionInfo]
}

// ServerVersion returns the ServerVersionInfo of the last response that
// carried one (faults usually do not); ok is false before any.
func (c *Client) ServerVersion() (v ews.ServerVersionInfo, ok bool) {
	if p := c.serverVersion.Load(); p != nil {
		return *p, true
	}
	return v, false
}

// New returns a client for the EWS endpoint URL.
func New(endpoint string, opts *Options) (*Client, error) {
	if opts == nil {
		opts = &Options{}
	}
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	c := &Client{
		endpoint:    u,
		endpointURL: u.String(),
		http:        opts.HTTPClient,
		version:     opts.Version,
		timeout:     opts.Timeout,
		idleTimeout: opts.StreamIdleTimeout,
		limits:      ewswire.Limits{MaxBytes: opts.MaxResponseBytes, MaxDepth: opts.MaxDepth},
		log:         opts.Logger,
		clock:       opts.Clock,
		userAgent:   opts.UserAgent,
	}
	if c.version == "" {
		c.version = ews.DefaultVersion
	}
	if err := c.version.Sendable(); err != nil {
		return nil, fmt.Errorf("ewsclient: %w", err)
	}
	if c.http == nil {
		hc, err := NewHTTPClient(nil)
		if err != nil {
			return nil, err
		}
		c.http = hc
	}
	if c.timeout <= 0 {
		c.timeout = 100 * time.Second
	}
	if c.idleTimeout <= 0 {
		c.idleTimeout = 90 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if c.userAgent == "" {
		c.userAgent = "calsync-ewsclient"
	}
	if opts.Trace != nil {
		c.trace = &tracer{w: opts.Trace}
	}
	return c, nil
}

func parseEndpoint(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: endpoint: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("ewsclient: endpoint %q must be an absolute http(s) URL", u.Redacted())
	}
	if u.User != nil {
		return nil, errors.New("ewsclient: endpoint must not carry credentials; use an auth decorator")
	}
	return u, nil
}

// Endpoint returns the EWS URL the client uses by default.
func (c *Client) Endpoint() string { return c.endpointURL }

// Version returns the RequestServerVersion the client sends.
func (c *Client) Version() ews.ExchangeVersion { return c.version }

// Call says whom an operation acts for and how it is routed.
type Call struct {
	// ActAs impersonates a user (ExchangeImpersonation header). Zero means
	// the service account itself.
	ActAs ews.ConnectingSID
	// Anchor overrides X-AnchorMailbox (a streaming group's anchor);
	// default: ActAs.AnchorMailbox().
	Anchor string
	// Affinity, if set, sends X-PreferServerAffinity: true and its cookie,
	// and captures a new X-BackEndOverrideCookie from the response.
	Affinity *Affinity
	// Endpoint overrides the client's EWS URL (the mailbox's URL from
	// Autodiscover).
	Endpoint string
	// Timeout overrides the client's per-call timeout.
	Timeout time.Duration
	// TimeZone, if set, sends the TimeZoneContext header with this Windows
	// time zone id ("W. Europe Standard Time"): Exchange then reads request
	// times without offset, and all-day dates, in that zone.
	TimeZone string
}

// ActAs returns a Call impersonating the mailbox by primary SMTP address.
func ActAs(smtp string) Call { return Call{ActAs: ews.ImpersonateSMTP(smtp)} }

// Affinity is the routing state of one subscription group: the
// X-BackEndOverrideCookie that pins calls to the mailbox server holding the
// group's subscriptions. Safe for concurrent use; the zero value is ready.
type Affinity struct {
	mu     sync.Mutex
	cookie string
}

// NewAffinity returns an Affinity holding a known cookie ("" for none).
func NewAffinity(cookie string) *Affinity { return &Affinity{cookie: cookie} }

// Cookie returns the X-BackEndOverrideCookie value, "" if none yet.
func (a *Affinity) Cookie() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cookie
}

// SetCookie replaces the cookie.
func (a *Affinity) SetCookie(v string) {
	a.mu.Lock()
	a.cookie = v
	a.mu.Unlock()
}

// BackEndCookieName is the affinity cookie Exchange 2013+ sets.
const BackEndCookieName = "X-BackEndOverrideCookie"
