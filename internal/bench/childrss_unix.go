//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// childPeakRSS returns an exited child's peak resident set (ru_maxrss:
// kilobytes on Linux, bytes on macOS).
func childPeakRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
