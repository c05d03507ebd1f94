// Package graphclient is calsync's Microsoft Graph client for Exchange
// Online calendars, app-only: one file per operation (calendarView,
// calendarView/delta rounds, mailboxSettings, subscriptions, $batch),
// context first on every call, typed errors from package graph.
//
// Authentication is a Tokens (normally the tenant's one *TokenSource:
// client secret or certificate assertion, cached and renewed before
// expiry). Outlook's per-mailbox limits are kept on the client side: at
// most 4 concurrent requests per mailbox, and after a 429 (or a 503 with
// Retry-After) no request to that mailbox before the Retry-After has
// passed; the throttled request itself is retried a few times within
// MaxRetryWait. Everything else is classified, not retried:
// graph.Classify says configuration, credentials, permission (pending
// after onboarding), throttled, transient, not-on-Graph (the mailbox is
// on-premises), resync (delta token gone), not-found. The engine decides.
package graphclient

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// HTTPClient sends HTTP requests; *http.Client satisfies it.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// Options configure a Client; nil means defaults.
type Options struct {
	// GraphURL is the v1.0 root (default DefaultGraphURL).
	GraphURL string
	// HTTPClient sends Graph requests (default: http.Client without
	// redirects; Graph does not redirect API calls).
	HTTPClient HTTPClient
	// Clock drives Retry-After waits (default: real time).
	Clock clock.Clock
	// Timeout bounds each HTTP request (default 60 s).
	Timeout time.Duration
	// MaxResponseBytes bounds one response body (default 16 MiB).
	MaxResponseBytes int64
	// MaxConcurrentPerMailbox caps parallel requests per mailbox
	// (default 4, Outlook's limit).
	MaxConcurrentPerMailbox int
	// ThrottleRetries is how often a throttled request is retried after
	// its Retry-After (default 3; negative: never).
	ThrottleRetries int
	// MaxRetryWait: a Retry-After longer than this is returned to the
	// caller instead of waited for (default 2 min).
	MaxRetryWait time.Duration
	// MaxPages bounds the pages one read follows (default 1000), so a
	// nextLink loop ends with an error.
	MaxPages int
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
	// UserAgent is sent with every request (default "calsync-graphclient").
	UserAgent string
}

// Client is a Graph client for one tenant. Safe for concurrent use.
type Client struct {
	base         *url.URL
	tokens       Tokens
	http         HTTPClient
	clock        clock.Clock
	timeout      time.Duration
	maxBytes     int64
	retries      int
	maxRetryWait time.Duration
	maxPages     int
	log          *slog.Logger
	userAgent    string
	gates        *gates
}

// New returns a client calling Graph with tokens.
func New(tokens Tokens, opts *Options) (*Client, error) {
	if tokens == nil {
		return nil, errors.New("graphclient: no token source")
	}
	if opts == nil {
		opts = &Options{}
	}
	raw := opts.GraphURL
	if raw == "" {
		raw = DefaultGraphURL
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("graphclient: Graph URL %q is not an absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("graphclient: Graph URL %q must not carry credentials or a query", u.Redacted())
	}
	c := &Client{
		base: u, tokens: tokens, http: opts.HTTPClient, clock: opts.Clock,
		timeout: opts.Timeout, maxBytes: opts.MaxResponseBytes, retries: opts.ThrottleRetries,
		maxRetryWait: opts.MaxRetryWait, maxPages: opts.MaxPages, log: opts.Logger, userAgent: opts.UserAgent,
	}
	if c.http == nil {
		c.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if c.timeout <= 0 {
		c.timeout = 60 * time.Second
	}
	if c.maxBytes <= 0 {
		c.maxBytes = 16 << 20
	}
	if c.retries == 0 {
		c.retries = 3
	}
	if c.maxRetryWait <= 0 {
		c.maxRetryWait = 2 * time.Minute
	}
	if c.maxPages <= 0 {
		c.maxPages = 1000
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = "calsync-graphclient"
	}
	n := opts.MaxConcurrentPerMailbox
	if n <= 0 {
		n = 4
	}
	c.gates = newGates(n, c.clock)
	return c, nil
}

// GraphURL returns the v1.0 root the client calls.
func (c *Client) GraphURL() string { return c.base.String() }

// userURL returns GraphURL/users/{mailbox}/rest?query.
func (c *Client) userURL(mailbox, rest string, query url.Values) string {
	s := c.base.String() + "/users/" + url.PathEscape(mailbox) + rest
	if len(query) > 0 {
		s += "?" + query.Encode()
	}
	return s
}

// checkLink accepts a nextLink or deltaLink only on the Graph host the
// client was configured with: the bearer token must never follow a link
// to another host.
func (c *Client) checkLink(link string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("link %q does not parse: %w", link, err)
	}
	if !u.IsAbs() || !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) {
		return fmt.Errorf("link %q is not on %s://%s", u.Redacted(), c.base.Scheme, c.base.Host)
	}
	return nil
}
