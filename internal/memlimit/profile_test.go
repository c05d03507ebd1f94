package memlimit

import (
	"runtime"
	"strings"
	"testing"
)

var sink [][]byte

// allocateForProfileTest allocates 64 MiB in 1 MiB pieces: at the default
// rate (a sample per 512 KiB on average) most pieces are sampled.
//
//go:noinline
func allocateForProfileTest() {
	for range 64 {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
}

// samples counts the heap profile's sampled allocations made in
// allocateForProfileTest so far (runtime.MemProfile reports samples, not
// scaled estimates).
func samples() int64 {
	runtime.GC()
	runtime.GC() // the profile shows allocations as of the last completed cycle
	n, _ := runtime.MemProfile(nil, true)
	recs := make([]runtime.MemProfileRecord, n+50)
	n, _ = runtime.MemProfile(recs, true)
	var count int64
	for _, r := range recs[:n] {
		for _, pc := range r.Stack() {
			if f := runtime.FuncForPC(pc); f != nil && strings.HasSuffix(f.Name(), "allocateForProfileTest") {
				count += r.AllocObjects
				break
			}
		}
	}
	return count
}

func TestDisableHeapProfileStopsSampling(t *testing.T) {
	defer func(r int) { runtime.MemProfileRate = r }(runtime.MemProfileRate)
	before := samples()
	DisableHeapProfile()
	allocateForProfileTest()
	// Each P's allocation cache takes one last sample when it notices
	// the new rate; nothing after that.
	if got, most := samples()-before, int64(runtime.GOMAXPROCS(0)); got > most {
		t.Fatalf("%d of 64 allocations sampled after DisableHeapProfile, want at most %d (one per P)", got, most)
	}
	// The bench turns it on again for -memprofile.
	before = samples()
	runtime.MemProfileRate = ProfileRate
	allocateForProfileTest()
	if got := samples() - before; got < 16 {
		t.Fatalf("%d of 64 allocations of 1 MiB sampled at ProfileRate, want most", got)
	}
}
