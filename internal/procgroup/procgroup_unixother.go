//go:build unix && !linux

package procgroup

import "syscall"

// setDeathSignal: only Linux has a parent-death signal; elsewhere the
// parent's cleanup is all there is.
func setDeathSignal(*syscall.SysProcAttr) {}

// waitStopped: without /proc, trust kill(2).
func waitStopped(int) {}
