//go:build linux

package bench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rssBytes returns the resident set size of this process.
func rssBytes() int64 { return statusKB("VmRSS:") * 1024 }

// statusKB reads one kB field of /proc/self/status (0 if missing).
func statusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb
			}
		}
	}
	return 0
}

// cpuTime returns user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS starts a new peak-RSS period (VmHWM) for this process.
func resetPeakRSS() {
	// "5" resets the peak resident set size (Linux 4.0 and later); on
	// older kernels VmHWM keeps the peak since the process started.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSBytes returns the peak resident set size since the last reset.
func peakRSSBytes() int64 { return statusKB("VmHWM:") * 1024 }

// rssFileBytes returns the file-backed part of the resident set (the bolt
// store's memory map, the executable).
func rssFileBytes() int64 { return statusKB("RssFile:") * 1024 }

// rssExecutableBytes returns the part of the resident set that maps this
// process's executable (its code and read-only data: pages read once and
// shared with every process running the same file, such as the bench's
// simulator child). The rest of the file-backed part is the store's map.
func rssExecutableBytes() int64 {
	exe, err := os.Executable()
	if err != nil {
		return 0
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0
	}
	var kb int64
	inExe := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			// A mapping's header: range perms offset dev inode [path].
			inExe = len(f) >= 6 && f[5] == exe
		case inExe && len(f) >= 2 && f[0] == "Rss:":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			kb += n
		}
	}
	return kb * 1024
}

// rssAnonBytes returns the anonymous part of the resident set (heap,
// stacks, runtime metadata).
func rssAnonBytes() int64 { return statusKB("RssAnon:") * 1024 }
