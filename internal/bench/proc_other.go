//go:build !linux

package bench

import (
	"runtime"
	"time"
)

// rssBytes approximates resident memory with the Go runtime's view.
func rssBytes() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.Sys)
}

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }

// resetPeakRSS is not supported on this platform.
func resetPeakRSS() {}

// peakRSSBytes approximates the peak with what the runtime holds now.
func peakRSSBytes() int64 { return rssBytes() }

// rssFileBytes is not measured on this platform.
func rssFileBytes() int64 { return 0 }

// rssExecutableBytes is not measured on this platform.
func rssExecutableBytes() int64 { return 0 }

// rssAnonBytes is not measured on this platform.
func rssAnonBytes() int64 { return 0 }

// readSmaps has nothing to read off Linux.
func readSmaps() smapsSplit { return smapsSplit{} }
