//go:build !unix

package kamailio

import (
	"os"
	"syscall"
)

// Kamailio runs on unix only; these keep the package building elsewhere.
func procAttr() *syscall.SysProcAttr { return nil }

func giveAway(string) error { return nil }

func signalGroup(pid int, _ syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
