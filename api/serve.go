package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// shutdownGrace bounds how long Serve waits for requests in flight after
// its context ends.
const shutdownGrace = 10 * time.Second

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
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
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
