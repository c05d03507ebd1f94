package memlimit

import "runtime"

// ProfileRate is the Go runtime's default heap-profile sampling rate (one
// sample per 512 KiB allocated), for a process that wants a heap profile
// after all (calsync bench -memprofile).
const ProfileRate = 512 << 10

// DisableHeapProfile stops the runtime's heap-profile sampling for the
// rest of the process. Why: the runtime samples allocations by default,
// and every sampled call stack keeps a bucket forever — 1.5 MiB of a
// 1,000-mailbox engine's peak RSS (docs/BENCHMARKS.md, "Memory"), for a
// profile that calsync run never writes (it has no profiling endpoint).
// Call it first thing in main: only allocations after it go unsampled.
func DisableHeapProfile() { runtime.MemProfileRate = 0 }
