package heapspans

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// kept holds the test's objects alive across the dump.
var kept [][]byte

// parkedUntil blocks a goroutine the dump then lists.
func parkedUntil(stop <-chan struct{}, done chan<- struct{}) {
	<-stop
	close(done)
}

// A dump of this very process: the objects it keeps are found in their size
// class (with their site, as every allocation is sampled), and a goroutine
// parked in a known function with its stack.
func TestReadsADumpOfThisProcess(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	kept = nil
	for range 2000 {
		kept = append(kept, make([]byte, 112))
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go parkedUntil(stop, done)
	defer func() { close(stop); <-done }()
	runtime.GC()

	path := filepath.Join(t.TempDir(), "heap.dump")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	debug.WriteHeapDump(f.Fd())
	f.Close()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d, err := Read(r)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	runtime.KeepAlive(kept)

	classes, _, sites := d.Spans()
	var c112 *Class
	for i := range classes {
		if classes[i].Size == 112 {
			c112 = &classes[i]
		}
	}
	if c112 == nil || c112.Objects < 2000 || c112.Spans < 2000/73 || c112.InSpans != c112.Live+c112.Unused {
		t.Fatalf("112-byte class = %+v, want at least the 2,000 kept objects in at least 28 spans", c112)
	}
	found := 0
	for _, s := range sites {
		if s.Size == 112 && strings.Contains(s.Site, "TestReadsADumpOfThisProcess") {
			found += s.Objects
		}
	}
	if found < 2000 {
		t.Errorf("objects of 112 bytes from the test's site = %d, want 2,000", found)
	}
	parked := false
	for _, s := range d.Stacks() {
		// The go statement with arguments starts a wrapper of the test.
		if strings.Contains(s.Start, "TestReadsADumpOfThisProcess") && s.Size >= 2048 && s.UsedAvg > 0 && s.UsedAvg <= s.Size {
			parked = true
		}
	}
	if !parked {
		t.Errorf("Stacks() = %+v: no goroutine of the test's go statement with its stack", d.Stacks())
	}
}

func TestRejectsWhatIsNotAHeapDump(t *testing.T) {
	if _, err := Read(strings.NewReader("go1.7 heap dump\n\x01")); err == nil || !strings.Contains(err.Error(), "record 0") {
		t.Errorf("a dump cut inside its first record: err = %v, want the record named", err)
	}
	if _, err := Read(strings.NewReader("hello")); err == nil || !strings.Contains(err.Error(), "not a Go heap dump") {
		t.Errorf("not a dump: err = %v", err)
	}
}

// A damaged dump is an error, not a panic, an endless loop or an
// allocation of its damaged length: a memory-profile record whose frame
// count runs past the end, a string whose length is absurd.
func TestDamagedDumpIsAnError(t *testing.T) {
	for name, rec := range map[string]string{
		// tagMemProf: bucket 1, size 8, 2^62 frames, then the end.
		"frame count past the end": "\x10\x01\x08\x80\x80\x80\x80\x80\x80\x80\x80\x40",
		// tagParams: 4 ints, an empty skip, then a version string of 2^62 bytes.
		"string length": "\x06\x00\x08\x00\x00\x00\x80\x80\x80\x80\x80\x80\x80\x80\x40",
	} {
		if _, err := Read(strings.NewReader("go1.7 heap dump\n" + rec)); err == nil || !strings.Contains(err.Error(), "record 0") {
			t.Errorf("%s: err = %v, want an error naming record 0", name, err)
		}
	}
}

// A dump whose objects overlap (damaged, or not the runtime's) puts more
// live bytes in a span's pages than they hold: the unused bytes of the
// class and of the site are then 0, not an unsigned wrap to about 2^64.
// Twelve 1,408-byte objects 8 bytes apart lie in one two-page group of
// 16 KiB, which holds 11 of them.
func TestOverlappingObjectsDoNotWrapTheUnusedBytes(t *testing.T) {
	d := &Dump{Objects: map[uint64]uint64{}, Samples: map[uint64]uint64{}, Buckets: map[uint64][]string{}}
	const base = 0xc000000000
	for i := range 12 {
		d.Objects[base+uint64(i)*8] = 1408
	}
	classes, _, sites := d.Spans()
	if len(classes) != 1 || classes[0].Live != 12*1408 || classes[0].InSpans != 16<<10 || classes[0].Unused != 0 {
		t.Fatalf("classes = %+v, want one of 1,408 bytes: 16,896 live in 16 KiB, 0 unused", classes)
	}
	if len(sites) != 1 || sites[0].Objects != 12 || sites[0].Unused != 0 {
		t.Fatalf("sites = %+v, want the 12 objects (not sampled) with 0 unused", sites)
	}
}
