//go:build !unix

package procgroup

import (
	"errors"
	"os"
	"syscall"
)

// Attr returns base: without Unix process groups the process is started
// as any other.
func Attr(base *syscall.SysProcAttr) *syscall.SysProcAttr { return base }

// Kill kills p.
func Kill(p *os.Process) error { return p.Kill() }

// Pause is not available without Unix signals.
func Pause(*os.Process) error { return errors.ErrUnsupported }

// Resume is not available without Unix signals.
func Resume(*os.Process) error { return errors.ErrUnsupported }
