// Package graphconn builds the Microsoft Graph client described by a
// calsync config's exchange_online section: the tenant's one token source
// (client secret, or certificate and key files for a signed assertion) and
// the client on top of it. It is the only place that turns
// exchange_online.* into a client, as internal/ewsconn is for exchange.*.
package graphconn

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/internal/clock"
)

// Options tune NewClient beyond the config.
type Options struct {
	Logger *slog.Logger
	// HTTPClient reaches Graph and the token endpoint (default: the
	// clients' own).
	HTTPClient *http.Client
	// Clock drives token renewal and Retry-After waits (default: real time).
	Clock clock.Clock
}

// NewClient returns the Graph client for x.
func NewClient(x *config.ExchangeOnline, o Options) (*graphclient.Client, error) {
	_, c, err := New(x, o)
	return c, err
}

// New returns the tenant's token source and the Graph client on it
// (`calsync check` asks the token source alone first).
func New(x *config.ExchangeOnline, o Options) (*graphclient.TokenSource, *graphclient.Client, error) {
	if x == nil {
		return nil, nil, errors.New("graphconn: no exchange_online section")
	}
	cred := graphclient.Credentials{TenantID: x.TenantID, ClientID: x.ClientID, LoginURL: x.LoginURL, ClientSecret: x.ClientSecret.Value()}
	if x.CertificateFile != "" {
		certPEM, err := os.ReadFile(x.CertificateFile)
		if err != nil {
			return nil, nil, fmt.Errorf("graphconn: exchange_online.certificate_file: %w", err)
		}
		keyPEM, err := os.ReadFile(x.KeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("graphconn: exchange_online.key_file: %w", err)
		}
		cert, key, err := graphclient.LoadCertificate(certPEM, keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("graphconn: exchange_online.certificate_file %s with key_file %s: %w", x.CertificateFile, x.KeyFile, err)
		}
		cred.Certificate, cred.Key = cert, key
	}
	ts, err := graphclient.NewTokenSource(cred, &graphclient.TokenOptions{HTTPClient: o.HTTPClient, Clock: o.Clock})
	if err != nil {
		return nil, nil, fmt.Errorf("graphconn: %w", err)
	}
	opts := &graphclient.Options{GraphURL: x.GraphURL, Clock: o.Clock, Logger: o.Logger}
	if o.HTTPClient != nil {
		opts.HTTPClient = o.HTTPClient
	}
	c, err := graphclient.New(ts, opts)
	if err != nil {
		return nil, nil, err
	}
	return ts, c, nil
}
