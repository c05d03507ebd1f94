//go:build linux

package bench

import (
	"testing"
)

// The sampler runs inside the process it measures, every 100 ms of a load:
// a sample below the peak must not allocate, and a new peak's breakdown
// neither.
func TestPeakSamplerAllocatesNothing(t *testing.T) {
	p := newPeakSampler()
	defer p.close()
	p.sample()
	if p.best.RSS == 0 || p.best.Executable == 0 {
		t.Fatalf("first sample %+v: RSS and the executable's part must be read", p.best)
	}
	if n := testing.AllocsPerRun(20, p.sample); n != 0 {
		t.Errorf("a sample below the peak allocated %.0f objects, want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() {
		p.best.RSS = 0 // every sample a new peak
		p.sample()
	}); n != 0 {
		t.Errorf("a new peak's sample allocated %.0f objects, want 0", n)
	}
}

// The cheap reads give what the status file and the whole smaps give.
func TestProcMemAgreesWithStatusAndSmaps(t *testing.T) {
	p := newProcMem()
	if p == nil {
		t.Fatal("/proc/self/statm or smaps cannot be opened")
	}
	defer p.close()
	near := func(what string, got, want int64) {
		t.Helper()
		if d := got - want; d < -1<<20 || d > 1<<20 {
			t.Errorf("%s: %d bytes, the status file or smaps says %d", what, got, want)
		}
	}
	rss, file := p.rss()
	near("RSS", rss, rssBytes())
	near("file-backed", file, rssFileBytes())
	near("anonymous", rss-file, rssAnonBytes())
	exe := p.executable()
	if exe < 1<<20 {
		t.Errorf("executable's resident part %d bytes: a test binary's text alone is larger", exe)
	}
	near("executable", exe, rssExecutableBytes())
}

func TestMappingPath(t *testing.T) {
	for _, c := range []struct {
		line, path string
		header     bool
	}{
		{"00400000-00e85000 r-xp 00000000 fd:01 1234   /tmp/calsync\n", "/tmp/calsync", true},
		{"00400000-00e85000 r-xp 00000000 fd:01 1234   /tmp/my dir/calsync (deleted)\n", "/tmp/my dir/calsync (deleted)", true},
		{"c000000000-c004000000 rw-p 00000000 00:00 0 \n", "", true},
		{"7ffd1000-7ffd2000 rw-p 00000000 00:00 0      [stack]\n", "", true},
		{"Rss:                1234 kB\n", "", false},
		{"VmFlags: rd ex mr mw me dw sd\n", "", false},
	} {
		path, header := mappingPath([]byte(c.line))
		if string(path) != c.path || header != c.header {
			t.Errorf("mappingPath(%q) = %q, %v; want %q, %v", c.line, path, header, c.path, c.header)
		}
	}
	if got := parseKB([]byte("       1234 kB\n")); got != 1234 {
		t.Errorf("parseKB = %d, want 1234", got)
	}
}
