// Package heapspans reads a Go heap dump (runtime/debug.WriteHeapDump) and
// tells where the heap's partly used spans are: per size class, how many
// spans the live objects occupy and how much of those spans they leave
// unused; with the dump's allocation samples, which allocation sites the
// objects of those spans come from; and each goroutine's stack size.
//
// Why: after a load, the Go collector does not move objects, so a
// long-lived object made between the load's garbage keeps its whole span in
// use. runtime.MemStats says how much (HeapInuse − HeapAlloc) but not where
// (docs/BENCHMARKS.md, "Memory after the load, session 9"). `calsync bench
// -heapdump FILE` writes the dump after the load; `calsync bench
// -heapspans FILE` prints what this package finds in it.
package heapspans

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Dump is what the analysis needs of a heap dump.
type Dump struct {
	GoVersion  string
	Objects    map[uint64]uint64    // address → size (the size class's, for small objects)
	Goroutines []Goroutine          // in dump order
	Samples    map[uint64]uint64    // object address → allocation bucket (sampled objects only)
	Buckets    map[uint64][]string  // bucket → function names, innermost first
	gHeads     map[uint64][2]uint64 // g address → its first two words (stack lo, hi)
}

// Goroutine is one goroutine of the dump.
type Goroutine struct {
	Addr, SP uint64
	Frames   []string // function names, innermost first
}

// The heap dump's record tags and field kinds (runtime/heapdump.go, format
// "go1.7 heap dump").
const (
	tagEOF = iota
	tagObject
	tagOtherRoot
	tagType
	tagGoroutine
	tagStackFrame
	tagParams
	tagFinalizer
	tagItab
	tagOSThread
	tagMemStats
	tagQueuedFinalizer
	tagData
	tagBSS
	tagDefer
	tagPanic
	tagMemProf
	tagAllocSample
)

const header = "go1.7 heap dump\n"

// memStatsWords is the number of integers of a MemStats record: 24 fields,
// 256 pause times, NumGC.
const memStatsWords = 24 + 256 + 1

// gSizes are the size classes a runtime g is allocated in: only objects of
// these sizes keep their first words (a goroutine's stack bounds).
func gSize(n uint64) bool { return n >= 384 && n <= 512 }

// Read parses a heap dump.
func Read(r io.Reader) (*Dump, error) {
	d := &dumpReader{r: bufio.NewReaderSize(r, 1<<20)}
	h := make([]byte, len(header))
	if _, err := io.ReadFull(d.r, h); err != nil || string(h) != header {
		return nil, fmt.Errorf("heapspans: not a Go heap dump (want the header %q)", header)
	}
	out := &Dump{Objects: map[uint64]uint64{}, Samples: map[uint64]uint64{}, Buckets: map[uint64][]string{}, gHeads: map[uint64][2]uint64{}}
	for records := 0; ; records++ {
		tag := d.uvarint()
		if d.err != nil {
			return nil, fmt.Errorf("heapspans: record %d (byte %d): %w", records, d.off, d.err)
		}
		if tag == tagEOF {
			return out, nil
		}
		if err := d.record(tag, out); err != nil {
			return nil, fmt.Errorf("heapspans: record %d (tag %d, byte %d): %w", records, tag, d.off, err)
		}
	}
}

// record reads one record after its tag.
func (d *dumpReader) record(tag uint64, out *Dump) error {
	switch tag {
	case tagObject:
		addr, n := d.uvarint(), d.uvarint()
		if gSize(n) {
			b := d.bytes(n)
			if len(b) >= 16 {
				out.gHeads[addr] = [2]uint64{le64(b[0:8]), le64(b[8:16])}
			}
		} else {
			d.skip(n)
		}
		d.fields()
		out.Objects[addr] = n
	case tagOtherRoot:
		d.skip(d.uvarint())
		d.uvarint()
	case tagType:
		d.uvarint()
		d.uvarint()
		d.skip(d.uvarint())
		d.uvarint()
	case tagGoroutine:
		g := Goroutine{Addr: d.uvarint(), SP: d.uvarint()}
		d.ints(6) // goid, gopc, status, system, background, waitsince
		d.skip(d.uvarint())
		d.ints(4) // ctxt, m, defer, panic
		out.Goroutines = append(out.Goroutines, g)
	case tagStackFrame:
		d.ints(3) // sp, depth, child sp
		d.skip(d.uvarint())
		d.ints(3) // entry, pc, continuation pc
		name := d.str()
		d.fields()
		if n := len(out.Goroutines); n > 0 {
			out.Goroutines[n-1].Frames = append(out.Goroutines[n-1].Frames, name)
		}
	case tagParams:
		d.ints(4) // big endian, pointer size, heap start, heap end
		d.skip(d.uvarint())
		out.GoVersion = d.str()
		d.uvarint()
	case tagFinalizer, tagQueuedFinalizer:
		d.ints(5)
	case tagItab:
		d.ints(2)
	case tagOSThread:
		d.ints(3)
	case tagMemStats:
		d.ints(memStatsWords)
	case tagData, tagBSS:
		d.uvarint()
		d.skip(d.uvarint())
		d.fields()
	case tagDefer:
		d.ints(7)
	case tagPanic:
		d.ints(6)
	case tagMemProf:
		b := d.uvarint()
		d.uvarint() // size
		n := d.uvarint()
		frames := make([]string, 0, min(n, 64))
		for i := uint64(0); i < n && d.err == nil; i++ { // a damaged count must not loop on past the end
			frames = append(frames, d.str())
			d.skip(d.uvarint()) // file
			d.uvarint()         // line
		}
		d.ints(2) // allocs, frees
		out.Buckets[b] = frames
	case tagAllocSample:
		obj := d.uvarint()
		out.Samples[obj] = d.uvarint()
	default:
		return fmt.Errorf("unknown record tag (a dump of another Go version? this reads Go 1.26's)")
	}
	return d.err
}

// dumpReader reads the dump's varints and byte strings, keeping the first
// error.
type dumpReader struct {
	r   *bufio.Reader
	off int64
	err error
}

func (d *dumpReader) uvarint() uint64 {
	var v uint64
	for s := uint(0); d.err == nil; s += 7 {
		b, err := d.r.ReadByte()
		if err != nil {
			d.fail(err)
			return 0
		}
		d.off++
		if s > 63 {
			d.fail(errors.New("varint too long"))
			return 0
		}
		v |= uint64(b&0x7f) << s
		if b < 0x80 {
			return v
		}
	}
	return 0
}

func (d *dumpReader) ints(n int) {
	for range n {
		d.uvarint()
	}
}

func (d *dumpReader) skip(n uint64) {
	if d.err != nil {
		return
	}
	m, err := d.r.Discard(int(n))
	d.off += int64(m)
	if err != nil {
		d.fail(err)
	}
}

// maxBytes bounds a string or object the reader keeps (names, a g's
// first words): a damaged length must be an error, not an allocation of
// exabytes.
const maxBytes = 1 << 24

func (d *dumpReader) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > maxBytes {
		d.fail(fmt.Errorf("a length of %d bytes, more than a heap dump's strings hold: the dump is damaged", n))
		return nil
	}
	b := make([]byte, n)
	m, err := io.ReadFull(d.r, b)
	d.off += int64(m)
	if err != nil {
		d.fail(err)
	}
	return b
}

func (d *dumpReader) str() string { return string(d.bytes(d.uvarint())) }

// fields skips a field list: (kind, offset) pairs up to kind 0.
func (d *dumpReader) fields() {
	for d.err == nil && d.uvarint() != 0 {
		d.uvarint()
	}
}

func (d *dumpReader) fail(err error) {
	if d.err == nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		d.err = err
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
