// Package memlimit sets the Go runtime's soft memory limit of a calsync
// process from the number of mailboxes it syncs.
//
// Why: the garbage collector's heap goal follows the heap at the last
// collection, so the churn of an initial load (about 340 KB allocated per
// mailbox) lets the heap grow to several times what stays live, and the
// freed memory goes back to the operating system only slowly, in the
// background (which is also most of the CPU an engine spends right after a
// load). A limit derived from the mailbox count bounds that: the runtime
// collects earlier and returns freed memory promptly when the process
// nears it. It is a soft limit: a live heap above it is never an error,
// the collector then runs more often (the runtime caps that at about half
// the CPU). docs/operations.md describes it for operators.
package memlimit

import (
	"math"
	"os"
	"runtime/debug"
	"sync"
)

// Base and PerMailbox make the limit for n mailboxes: Base + n×PerMailbox
// of memory managed by the Go runtime (heap, goroutine stacks, runtime
// metadata; not the store's memory map or the executable, which the
// operating system can drop and read again). Measured after an initial
// load (docs/BENCHMARKS.md, "Memory after the initial load"): about 5 KiB
// of live heap per mailbox, 2–8 KiB of goroutine stack, and a fixed part
// of about 10 MiB for the engine alone. Base also covers the rest of an
// instance (API, presence, connectors) so that a small installation never
// runs its collector against the limit; PerMailbox leaves room for the
// load's requests in flight. A tight limit costs CPU: 24 MiB at 1,000
// mailboxes doubled the load's CPU (the collector ran all the time).
const (
	Base       = 32 << 20
	PerMailbox = 16 << 10
)

// For returns the limit for n mailboxes, in bytes.
func For(n int) int64 {
	return Base + int64(max(n, 0))*PerMailbox
}

var mu sync.Mutex

// SetForMailboxes sets the soft memory limit for n mailboxes and returns
// it. When the operator set GOMEMLIMIT, that limit stays and is returned:
// an explicit limit wins over the derived one (so does GOMEMLIMIT=off,
// which returns math.MaxInt64).
func SetForMailboxes(n int) int64 {
	mu.Lock()
	defer mu.Unlock()
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	limit := For(n)
	debug.SetMemoryLimit(limit)
	return limit
}

// Source names where the limit comes from: "GOMEMLIMIT" when the operator
// set it, else "mailboxes".
func Source() string {
	if os.Getenv("GOMEMLIMIT") != "" {
		return "GOMEMLIMIT"
	}
	return "mailboxes"
}

// Off reports whether limit means no limit.
func Off(limit int64) bool { return limit == math.MaxInt64 }
