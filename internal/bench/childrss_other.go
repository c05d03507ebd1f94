//go:build !unix

package bench

import "os"

// childPeakRSS is not measured here (no rusage).
func childPeakRSS(*os.ProcessState) int64 { return 0 }
