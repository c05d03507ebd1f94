//go:build !unix

package sip

import "time"

// processCPU is not measured off unix.
func processCPU() time.Duration { return 0 }
