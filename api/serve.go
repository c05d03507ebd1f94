package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownGrace bounds how long Serve waits for requests in flight after
// its context ends.
const shutdownGrace = 10 * time.Second

// Limits bound what one client can hold of the server. Zero fields take
// the defaults of DefaultLimits.
type Limits struct {
	// ReadHeaderTimeout bounds reading the request line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included: a
	// client that announces a body and sends a byte a second is cut off.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response. Event streams (routes
	// marked stream) lift it, and the read deadline, once authorized.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections that carry no request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
}

// DefaultLimits are generous for the API's small JSON requests and the
// dashboard's assets, and short enough that idle or trickling clients
// cannot pile up connections.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return l
}

// NewServer is the one construction of the HTTP server for the API and
// dashboard (`calsync run`, `calsync demo`, Serve): handler behind the
// limits. A nil logger keeps net/http's own error log.
func NewServer(handler http.Handler, limits Limits, logger *slog.Logger) *http.Server {
	l := limits.withDefaults()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
	if logger != nil {
		srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	return srv
}

// ListenAndServe listens on addr and serves handler until ctx ends; see Serve.
func ListenAndServe(ctx context.Context, addr string, handler http.Handler, certFile, keyFile string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, handler, certFile, keyFile)
}

// Serve serves handler on ln until ctx ends, then shuts down gracefully.
// With certFile and keyFile it serves HTTPS (TLS 1.2 or later), otherwise
// plain HTTP. Request contexts derive from ctx, so event streams end when
// ctx ends. It returns nil after a shutdown caused by ctx.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, certFile, keyFile string) error {
	if (certFile == "") != (keyFile == "") {
		_ = ln.Close()
		return errors.New("api: TLS needs both a certificate file and a key file")
	}
	srv := NewServer(handler, Limits{}, nil)
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve: %w", err)
	}
	return nil
}
