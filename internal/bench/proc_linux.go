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
// simulator child), counting every resident page of its mappings — also
// the anonymous copies of its written data pages. The peak sampler's
// procMem.executable reads the same.
func rssExecutableBytes() int64 {
	exe, _ := smapsFileRSS()
	return exe
}

// rssFileSplit returns the file-backed part of the resident set and the
// executable's share of it, both from one read of smaps, so that the share
// is never above the whole: the status file's RssFile read at another
// instant, or the executable's written data pages (anonymous copies, 0.1
// MiB, counted in its mappings' Rss but not in RssFile), made "executable +
// the rest" print a negative rest (docs/BENCHMARKS.md, "issue 16, session
// 9"). The rest is the store's map and the shared libraries.
func rssFileSplit() (file, exe int64) {
	_, split := smapsFileRSS()
	return split.file, split.exe
}

// fileSplit is the file-backed resident set and the executable's file
// pages in it (bytes).
type fileSplit struct{ file, exe int64 }

// smapsFileRSS reads /proc/self/smaps once: the executable's resident
// pages (all of them, exeAll) and the file-backed split (each mapping's
// Rss less its Anonymous pages).
func smapsFileRSS() (exeAll int64, split fileSplit) {
	exe, err := os.Executable()
	if err != nil {
		return 0, split
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, split
	}
	var rss, anon int64
	inExe, inFile := false, false
	flush := func() {
		if inFile {
			split.file += (rss - anon) * 1024
		}
		if inExe {
			exeAll += rss * 1024
			split.exe += (rss - anon) * 1024
		}
		rss, anon = 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			// A mapping's header: range perms offset dev inode [path].
			flush()
			path := strings.TrimSuffix(strings.Join(f[5:], " "), " (deleted)")
			inExe = path == exe
			inFile = f[4] != "0" // an inode: a file (anonymous mappings have 0)
		case len(f) >= 2 && f[0] == "Rss:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		case len(f) >= 2 && f[0] == "Anonymous:":
			anon, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	flush()
	return exeAll, split
}

// rssAnonBytes returns the anonymous part of the resident set (heap,
// stacks, runtime metadata).
func rssAnonBytes() int64 { return statusKB("RssAnon:") * 1024 }
