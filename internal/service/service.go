// Package service runs calsync under the operating system's service
// manager. On Windows it speaks to the Service Control Manager (start,
// stop, shutdown, and paramchange as a reload request) and writes logs to
// the Windows Event Log; elsewhere Run simply calls the function (systemd
// runs calsync as an ordinary process: see deploy/calsync.service).
package service

import "os"

// Options for Run.
type Options struct {
	// Reload receives syscall.SIGHUP when the service manager asks for a
	// reload (Windows: `sc.exe control <name> paramchange`). Sends never
	// block; nil disables reload requests.
	Reload chan<- os.Signal
}

// exitCode is reported to the service manager for fn's result.
func exitCode(err error) uint32 {
	if err != nil {
		return 1
	}
	return 0
}
