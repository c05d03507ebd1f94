//go:build unix

package procgroup

import (
	"os"
	"syscall"
)

// Attr returns base (nil: new attributes) set to start the process in a
// process group of its own that dies with its parent where the system
// allows (pdeathsig, Linux).
func Attr(base *syscall.SysProcAttr) *syscall.SysProcAttr {
	if base == nil {
		base = &syscall.SysProcAttr{}
	}
	base.Setpgid = true
	setDeathSignal(base)
	return base
}

// Kill sends SIGKILL to p's process group (p started with Attr).
func Kill(p *os.Process) error { return signalGroup(p, syscall.SIGKILL) }

// Pause stops p's process group (SIGSTOP): it keeps its sockets and
// memory and does nothing, as a process in a long GC pause or on a
// frozen VM.
// It returns once the process is stopped (Linux).
func Pause(p *os.Process) error {
	if err := signalGroup(p, syscall.SIGSTOP); err != nil {
		return err
	}
	waitStopped(p.Pid)
	return nil
}

// Resume continues a paused process group (SIGCONT).
func Resume(p *os.Process) error { return signalGroup(p, syscall.SIGCONT) }

func signalGroup(p *os.Process, sig syscall.Signal) error {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		return p.Signal(sig) // not a group leader: the process alone
	}
	return nil
}
