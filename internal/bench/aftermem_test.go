package bench

import (
	"runtime"
	"strings"
	"testing"
)

// Every runtime class the row prints is read (a misspelt metric name reads
// nothing), the mappings that hold this process's heap, metadata and main
// stack are found, and the cell names the parts.
func TestResidentSplitReadsTheRuntimeClasses(t *testing.T) {
	s := readResidentSplit()
	for name, v := range map[string]int64{
		"heap objects": s.HeapObjects, "goroutine stacks": s.Stacks, "mspan": s.MSpan, "mcache": s.MCache,
		"GC metadata": s.GCMeta, "runtime other": s.Other, "goroutines": s.Goroutines,
	} {
		if v <= 0 {
			t.Errorf("%s = %d, want it read (> 0)", name, v)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	cell := s.String()
	if s.Heap < 1<<20 || s.OtherAnon == 0 || s.MainStack == 0 {
		t.Errorf("%+v: the Go heap's mapping (a test binary's heap is above 1 MiB), the runtime's other mappings and the main thread's stack must be found", s.smapsSplit)
	}
	// Each mapping in one part: the parts add up to the resident set.
	if sum := s.File + s.DataBSS + s.Heap + s.OtherAnon + s.MainStack; sum != s.RSS {
		t.Errorf("parts add up to %d bytes, RSS %d", sum, s.RSS)
	}
	for _, part := range []string{"code", "read-only data", "heap objects", "unused in spans", "runtime metadata", "data and bss", "main thread"} {
		if !strings.Contains(cell, part) {
			t.Errorf("cell %q does not name %q", cell, part)
		}
	}
}
