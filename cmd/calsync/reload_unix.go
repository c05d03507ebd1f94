//go:build !windows

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyReload turns SIGHUP into a reload request.
func notifyReload(c chan os.Signal) { signal.Notify(c, syscall.SIGHUP) }
