//go:build linux

package bench

import (
	"os"
	"reflect"
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
// simulator child), counting every resident page of its mappings — also
// the anonymous copies of its written data pages. The peak sampler's
// procMem.executable reads the same.
func rssExecutableBytes() int64 {
	s := readSmaps()
	return s.ExeText + s.ExeRodata + s.ExeData + s.exeDataAnon
}

// heapProbe is an object on the Go heap (stored in a package variable, so
// it cannot live on a stack): its address names the heap's mapping.
var heapProbe *int

// readSmaps reads /proc/self/smaps once and sums it (smapsplit.go); zero
// if it cannot be read.
func readSmaps() smapsSplit {
	heapProbe = new(int)
	exe, err := os.Executable()
	if err != nil {
		return smapsSplit{}
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return smapsSplit{}
	}
	return parseSmaps(b, exe, uint64(reflect.ValueOf(heapProbe).Pointer()))
}

// rssAnonBytes returns the anonymous part of the resident set (heap,
// stacks, runtime metadata).
func rssAnonBytes() int64 { return statusKB("RssAnon:") * 1024 }
