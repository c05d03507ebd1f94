//go:build !windows

package service

import (
	"context"
	"io"
	"os"
)

// IsWindowsService reports whether the process was started by the Windows
// Service Control Manager; always false on this platform.
func IsWindowsService() bool { return false }

// Run calls fn(ctx): outside Windows there is no service handshake (the
// caller handles signals).
func Run(ctx context.Context, name string, fn func(context.Context) error, opts Options) error {
	_, _ = name, opts
	return fn(ctx)
}

// LogWriter returns where logs go when running as a service: standard
// error (systemd's journal captures it).
func LogWriter(name string) (io.WriteCloser, error) {
	_ = name
	return nopCloser{os.Stderr}, nil
}

type nopCloser struct{ io.Writer }

// Close does nothing: standard error stays open.
func (nopCloser) Close() error { return nil }
