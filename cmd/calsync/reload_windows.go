//go:build windows

package main

import "os"

// notifyReload does nothing on Windows: there is no SIGHUP; the service
// control manager's "paramchange" is used instead.
func notifyReload(chan os.Signal) {}
