package ewsclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// TransportOptions configure NewHTTPClient. A nil pointer means defaults.
type TransportOptions struct {
	// CAFile is a PEM bundle of extra trusted roots (added to the system
	// pool); CAPEM is the same as bytes.
	CAFile string
	CAPEM  []byte
	// InsecureSkipVerify disables TLS verification. It must be set
	// explicitly, is logged as a warning, and exists for lab setups only.
	InsecureSkipVerify bool
	// MaxConnsPerHost caps connections per host (default 32; streaming
	// connections count too). MaxIdleConnsPerHost defaults to 16.
	MaxConnsPerHost     int
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes unused keep-alive connections (default 90 s).
	IdleConnTimeout time.Duration
	// DialTimeout and TLSHandshakeTimeout default to 15 s and 10 s;
	// ResponseHeaderTimeout (default 0 = bounded by the call timeout).
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	// Logger receives the insecure-TLS warning (default: standard error).
	Logger *slog.Logger
}

// NewHTTPClient returns an *http.Client with keep-alive connection reuse,
// bounded pools, timeouts and TLS verification on (with optional extra
// roots). Redirects are not followed: EWS answers 302 to error pages under
// load, which must surface as *ews.HTTPError.
func NewHTTPClient(o *TransportOptions) (*http.Client, error) {
	t, err := NewTransport(o)
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// NewTransport returns the *http.Transport NewHTTPClient uses, for callers
// that wrap it (NTLM needs the transport).
func NewTransport(o *TransportOptions) (*http.Transport, error) {
	if o == nil {
		o = &TransportOptions{}
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" || len(o.CAPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pem := o.CAPEM
		if o.CAFile != "" {
			b, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ewsclient: CA bundle: %w", err)
			}
			pem = append(append([]byte(nil), pem...), b...)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("ewsclient: CA bundle holds no PEM certificate")
		}
		tlsConf.RootCAs = pool
	}
	if o.InsecureSkipVerify {
		tlsConf.InsecureSkipVerify = true
		log := o.Logger
		if log == nil {
			// Never silently insecure: without an injected logger the
			// warning still reaches standard error.
			log = slog.New(slog.NewTextHandler(os.Stderr, nil))
		}
		log.Warn("ewsclient: TLS certificate verification is DISABLED (InsecureSkipVerify); use a CA bundle instead")
	}
	def := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	maxConns := o.MaxConnsPerHost
	if maxConns <= 0 {
		maxConns = 32
	}
	maxIdle := o.MaxIdleConnsPerHost
	if maxIdle <= 0 {
		maxIdle = 16
	}
	dialer := &net.Dialer{Timeout: def(o.DialTimeout, 15*time.Second), KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   def(o.TLSHandshakeTimeout, 10*time.Second),
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		MaxConnsPerHost:       maxConns,
		MaxIdleConns:          maxIdle * 4,
		MaxIdleConnsPerHost:   maxIdle,
		IdleConnTimeout:       def(o.IdleConnTimeout, 90*time.Second),
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false, // NTLM authenticates HTTP/1.1 connections
	}, nil
}
