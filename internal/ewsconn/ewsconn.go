// Package ewsconn builds the EWS client described by a calsync config:
// transport (TLS, CA bundle, pools), authentication (Basic, NTLM, OAuth2
// client credentials), server version and optional protocol trace. `run`,
// `demo` and `check` share it so that they talk to Exchange identically.
package ewsconn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// Options tune NewClient beyond the config.
type Options struct {
	Logger *slog.Logger
	// Trace receives every request and response with credentials redacted.
	Trace io.Writer
	// MaxConnsPerHost bounds connections to one Exchange host; streaming
	// connections (one per 200 mailboxes) count too (default 512: the
	// engine's budget bounds concurrent requests, not the pool).
	MaxConnsPerHost int
}

// NewClient returns an EWS client for cfg.Exchange.EWSURL.
func NewClient(cfg *config.Config, o Options) (*ewsclient.Client, error) {
	x := cfg.Exchange
	if x.EWSURL == "" && x.AutodiscoverURL == "" {
		return nil, fmt.Errorf("ewsconn: exchange.ews_url or exchange.autodiscover_url is required")
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
		return nil, fmt.Errorf("ewsconn: %w", err)
	}
	// Redirects are not followed: EWS answers 302 to error pages under load.
	base := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var hc ewsclient.HTTPClient
	switch x.Auth.Method {
	case config.AuthBasic:
		hc = ewsclient.BasicAuth(base, x.Auth.Username, x.Auth.Password.Value())
	case config.AuthNTLM, "":
		hc, err = ewsclient.NTLMAuth(transport, x.Auth.Username, x.Auth.Password.Value())
		if err != nil {
			return nil, fmt.Errorf("ewsconn: %w", err)
		}
	case config.AuthOAuth2:
		cc := clientcredentials.Config{
			ClientID:     x.Auth.OAuth2.ClientID,
			ClientSecret: x.Auth.OAuth2.ClientSecret.Value(),
			TokenURL:     x.Auth.OAuth2.TokenURL,
			Scopes:       x.Auth.OAuth2.Scopes,
		}
		hc = ewsclient.OAuth2(base, cc.TokenSource(context.Background()))
	default:
		return nil, fmt.Errorf("ewsconn: exchange.auth.method %q is not supported (want basic, ntlm or oauth2)", x.Auth.Method)
	}
	endpoint := x.EWSURL
	if endpoint == "" {
		endpoint = x.AutodiscoverURL // replaced per mailbox by Autodiscover answers
	}
	version := ews.ExchangeVersion(x.ServerVersion)
	c, err := ewsclient.New(endpoint, &ewsclient.Options{
		HTTPClient:        hc,
		Version:           version,
		Logger:            o.Logger,
		Trace:             o.Trace,
		StreamIdleTimeout: x.Notifications.HeartbeatTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("ewsconn: %w", err)
	}
	return c, nil
}
