// Package ewsconn builds the EWS client described by a calsync config:
// transport (TLS, CA bundle, pools), authentication (Basic, NTLM, OAuth2
// client credentials), server version and optional protocol trace. It is
// the only place that turns exchange.* settings into a client: `run`,
// `demo`, `check` and `bench` all use it, so `calsync check` tests the
// client `calsync run` uses.
package ewsconn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// Options tune New beyond the config.
type Options struct {
	Logger *slog.Logger
	// Trace receives every request and response with credentials redacted.
	Trace io.Writer
	// MaxConnsPerHost bounds connections to one Exchange host; streaming
	// connections (one per 200 mailboxes) count too (default 512: the
	// engine's budget bounds concurrent requests, not the pool).
	MaxConnsPerHost int
	// Timeout bounds each call (default: the client's).
	Timeout time.Duration
	// StreamIdleTimeout replaces exchange.notifications.heartbeat_timeout
	// when set (check waits for one heartbeat, not for a long stream).
	StreamIdleTimeout time.Duration
	// UserAgent is sent with every request (default: the client's).
	UserAgent string
	// HTTPClient replaces the authenticated client built from
	// exchange.auth (tests).
	HTTPClient ewsclient.HTTPClient
	// TraceDir, if set, receives every request and response of the
	// authenticated client, one file each, credentials redacted
	// (ewsclient.TraceDir; `calsync check --trace DIR`).
	TraceDir string
}

// Conn is what New builds: the transport (TLS and pool settings, for
// probes that must not authenticate), the authenticated HTTP client and the
// EWS client on top of both.
type Conn struct {
	Transport *http.Transport
	HTTP      ewsclient.HTTPClient
	Client    *ewsclient.Client
}

// NewClient returns an EWS client for cfg.Exchange.
func NewClient(cfg *config.Config, o Options) (*ewsclient.Client, error) {
	c, err := New(cfg.Exchange, o)
	if err != nil {
		return nil, err
	}
	return c.Client, nil
}

// New builds the connection for x. The endpoint is exchange.ews_url, or
// exchange.autodiscover_url when only that is set (Autodiscover answers
// then name each mailbox's EWS URL). Errors name the setting at fault.
func New(x config.Exchange, o Options) (*Conn, error) {
	if x.EWSURL == "" && x.AutodiscoverURL == "" {
		return nil, fmt.Errorf("exchange.ews_url or exchange.autodiscover_url is required")
	}
	if o.MaxConnsPerHost == 0 {
		o.MaxConnsPerHost = 512
	}
	transport, err := ewsclient.NewTransport(&ewsclient.TransportOptions{
		CAFile:              x.TLS.CAFile,
		InsecureSkipVerify:  x.TLS.InsecureSkipVerify,
		MaxConnsPerHost:     o.MaxConnsPerHost,
		MaxIdleConnsPerHost: 64,
		Logger:              o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("exchange.tls.ca_file: %w", err)
	}
	hc := o.HTTPClient
	if hc == nil {
		if hc, err = authenticated(x.Auth, transport); err != nil {
			return nil, err
		}
	}
	if o.TraceDir != "" {
		if hc, err = ewsclient.TraceDir(hc, o.TraceDir); err != nil {
			return nil, err
		}
	}
	endpoint := x.EWSURL
	if endpoint == "" {
		endpoint = x.AutodiscoverURL // replaced per mailbox by Autodiscover answers
	}
	idle := x.Notifications.HeartbeatTimeout
	if o.StreamIdleTimeout > 0 {
		idle = o.StreamIdleTimeout
	}
	c, err := ewsclient.New(endpoint, &ewsclient.Options{
		HTTPClient:        hc,
		Version:           ews.ExchangeVersion(x.ServerVersion),
		Timeout:           o.Timeout,
		Logger:            o.Logger,
		Trace:             o.Trace,
		StreamIdleTimeout: idle,
		UserAgent:         o.UserAgent,
	})
	if err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	return &Conn{Transport: transport, HTTP: hc, Client: c}, nil
}

// authenticated wraps the transport with the service account's credentials.
func authenticated(a config.Auth, transport *http.Transport) (ewsclient.HTTPClient, error) {
	// Redirects are not followed: EWS answers 302 to error pages under load.
	base := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	switch a.Method {
	case config.AuthBasic:
		return ewsclient.BasicAuth(base, a.Username, a.Password.Value()), nil
	case config.AuthNTLM, "":
		hc, err := ewsclient.NTLMAuth(transport, a.Username, a.Password.Value())
		if err != nil {
			return nil, fmt.Errorf("exchange.auth: %w", err)
		}
		return hc, nil
	case config.AuthOAuth2:
		cc := clientcredentials.Config{
			ClientID:     a.OAuth2.ClientID,
			ClientSecret: a.OAuth2.ClientSecret.Value(),
			TokenURL:     a.OAuth2.TokenURL,
			Scopes:       a.OAuth2.Scopes,
		}
		// The token source outlives any one call: it refreshes the token
		// for as long as the client is used.
		return ewsclient.OAuth2(base, cc.TokenSource(context.Background())), nil
	}
	return nil, fmt.Errorf("exchange.auth.method %q is not supported (want basic, ntlm or oauth2)", a.Method)
}
