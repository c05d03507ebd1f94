package heapspans

import (
	"sort"
	"strings"
)

// Go 1.26's small size classes (internal/runtime/gc/sizeclasses.go): each
// class's object size and the pages (8 KiB) of its spans.
var (
	classSize  = []uint64{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}
	classPages = []uint64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6, 1, 7, 6, 5, 4, 3, 5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4}
)

const pageSize = 8 << 10

// Class is one size class's live objects and the spans they keep in use.
type Class struct {
	Size           uint64
	Objects, Spans int
	// Live is the bytes of the live objects, InSpans of the spans they
	// lie in; Unused = InSpans − Live (less in a damaged dump whose
	// objects overlap: see Spans).
	Live, InSpans, Unused uint64
}

// Site is the live objects of one size from one allocation site, and
// their share of their spans' unused bytes (each span's unused bytes split
// evenly among the objects in it).
type Site struct {
	Size    uint64
	Site    string
	Objects int
	Unused  uint64
}

// Spans groups the dump's small live objects by size class and span, the
// classes with the most unused bytes first. A span is found by its
// address: exact for one-page classes (all up to 1,024 bytes), the page
// group its address falls in for the others (spans of several pages need
// not start at a multiple of their size). Large is the objects above 32
// KiB (one span each, nothing shared).
//
// A page group holds no more live bytes than its size in a heap the
// runtime wrote (a span's tail and the next span's head together hold at
// most one span's objects), but a dump is a file: one whose objects
// overlap would put more there, and the unsigned unused bytes would wrap
// to about 2^64. Such a group counts as full instead.
func (d *Dump) Spans() (classes []Class, large uint64, sites []Site) {
	pages := map[uint64]uint64{}
	for i, s := range classSize {
		pages[s] = classPages[i]
	}
	type span struct {
		live uint64
		objs []uint64
	}
	bySize := map[uint64]map[uint64]*span{}
	for addr, size := range d.Objects {
		p, ok := pages[size]
		if !ok {
			large += size
			continue
		}
		m := bySize[size]
		if m == nil {
			m = map[uint64]*span{}
			bySize[size] = m
		}
		base := addr - addr%(p*pageSize)
		s := m[base]
		if s == nil {
			s = &span{}
			m[base] = s
		}
		s.live += size
		s.objs = append(s.objs, addr)
	}
	type siteKey struct {
		size uint64
		site string
	}
	bySite := map[siteKey]*Site{}
	for size, m := range bySize {
		window := pages[size] * pageSize
		c := Class{Size: size, Spans: len(m), InSpans: uint64(len(m)) * window}
		for _, s := range m {
			c.Objects += len(s.objs)
			c.Live += s.live
			unused := window - min(s.live, window)
			c.Unused += unused
			share := unused / uint64(len(s.objs))
			for _, o := range s.objs {
				k := siteKey{size, d.site(o)}
				x := bySite[k]
				if x == nil {
					x = &Site{Size: size, Site: k.site}
					bySite[k] = x
				}
				x.Objects++
				x.Unused += share
			}
		}
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i].Unused > classes[j].Unused })
	for _, s := range bySite {
		sites = append(sites, *s)
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].Unused > sites[j].Unused })
	return classes, large, sites
}

// site names an object's allocation site: the first frames of its sample
// outside the runtime, up to the first of this module (or three frames);
// "(not sampled)" without a sample.
func (d *Dump) site(obj uint64) string {
	b, ok := d.Samples[obj]
	if !ok {
		return "(not sampled)"
	}
	var out []string
	for _, f := range d.Buckets[b] {
		if strings.HasPrefix(f, "runtime.") || strings.HasPrefix(f, "internal/") {
			continue
		}
		out = append(out, f)
		if strings.Contains(f, "calsync/calsync/") || len(out) == 3 {
			break
		}
	}
	return strings.Join(out, " < ")
}
