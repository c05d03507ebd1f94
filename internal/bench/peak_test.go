package bench

import (
	"runtime"
	"testing"
)

var peakTestHeld []byte

func TestPeakSamplerKeepsTheLargestSampleAndItsParts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the split of the resident set is read from /proc (Linux)")
	}
	p := newPeakSampler()
	p.sample()
	first := p.best
	if first.RSS == 0 || first.Anon == 0 || first.File == 0 || first.Goroutines == 0 {
		t.Fatalf("first sample %+v: RSS, anonymous and file-backed parts and goroutines must be read", first)
	}
	// 64 MiB of heap, touched so that it is resident.
	peakTestHeld = make([]byte, 64<<20)
	for i := range peakTestHeld {
		peakTestHeld[i] = 1
	}
	p.sample()
	peak := p.best
	if peak.RSS < first.RSS+60<<20 || peak.HeapObjects < 64<<20 || peak.Anon < first.Anon+60<<20 {
		t.Fatalf("after 64 MiB more heap: %+v, before %+v", peak, first)
	}
	peakTestHeld = nil
	// A later sample below the peak leaves it (the RSS itself need not
	// shrink after a collection: a peak far above any real one stands in).
	p.best.RSS = 1 << 50
	kept := p.best
	p.sample()
	if p.best != kept {
		t.Fatalf("a smaller sample replaced the peak: %+v, want %+v", p.best, kept)
	}
}
