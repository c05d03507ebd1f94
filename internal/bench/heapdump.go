package bench

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/calsync/calsync/internal/heapspans"
)

// heapDumpProfileRate samples nearly every allocation of 16 bytes and more
// while a heap dump is asked for, so that the dump names the allocation
// site of the objects in the partly used spans. It costs the load about
// three times its CPU: the run's other figures are not the ones to read.
const heapDumpProfileRate = 16

// writeHeapDump writes a Go heap dump to path ("" writes nothing).
func writeHeapDump(path string) error {
	return writeProfileFile(path, "heap dump", func(f *os.File) error {
		debug.WriteHeapDump(f.Fd())
		return nil
	})
}

// WriteHeapSpans reads the heap dump at path and writes where its partly
// used spans are: per size class, then per allocation site, then the
// goroutines' stacks (docs/BENCHMARKS.md, "Memory after the load, session 9").
func WriteHeapSpans(w io.Writer, path string, top int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("bench: heap spans: %w", err)
	}
	defer f.Close()
	d, err := heapspans.Read(f)
	if err != nil {
		return fmt.Errorf("bench: heap spans of %s: %w", path, err)
	}
	classes, large, sites := d.Spans()
	var live, unused uint64
	for _, c := range classes {
		live += c.Live
		unused += c.Unused
	}
	fmt.Fprintf(w, "heap dump %s (%s): small objects %.2f MiB live in spans with %.2f MiB unused; large objects %.2f MiB\n\n",
		path, d.GoVersion, mib(live), mib(unused), mib(large))
	fmt.Fprintln(w, "| size class | live objects | spans | live | unused in their spans |\n|---|---|---|---|---|")
	for _, c := range classes[:min(top, len(classes))] {
		fmt.Fprintf(w, "| %d | %d | %d | %.2f MiB | %.2f MiB |\n", c.Size, c.Objects, c.Spans, mib(c.Live), mib(c.Unused))
	}
	fmt.Fprintln(w, "\n| size | allocation site | live objects | unused bytes of their spans (shared evenly in a span) |\n|---|---|---|---|")
	for _, s := range sites[:min(top, len(sites))] {
		fmt.Fprintf(w, "| %d | %s | %d | %.2f MiB |\n", s.Size, s.Site, s.Objects, mib(s.Unused))
	}
	fmt.Fprintln(w, "\n| goroutine (start) | stack | goroutines | used on average |\n|---|---|---|---|")
	for _, s := range d.Stacks() {
		fmt.Fprintf(w, "| %s | %d KiB | %d | %.1f KiB |\n", s.Start, s.Size>>10, s.Goroutines, float64(s.UsedAvg)/1024)
	}
	return nil
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
