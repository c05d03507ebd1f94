package bench

import (
	"fmt"
	rtmetrics "runtime/metrics"
)

// residentSplit is the whole resident set after the load, part by part,
// each read from the mappings that hold it (smaps): the file pages (the
// executable's by mapping, then the store's map and libraries), the
// executable's written data and bss, the Go heap's mapping, the runtime's
// other mappings (its metadata) and the main thread's stack. Beside them,
// what the runtime says it keeps in its heap and its metadata
// (runtime/metrics classes). Why: "RSS ÷ live heap" is cut by the memory
// that is not live, and a figure left as "the rest" (about 4 MiB in
// session 9) says nothing about what to cut.
//
// The classes count memory the runtime has mapped for a use, not what is
// resident: metadata reserved ahead (the profiling buckets' hash table,
// 1.4 MiB mapped, written only where a bucket hashes) is counted whole
// there, so the mappings' resident pages are the parts that add up to
// RSS, and the classes say what the pages are for.
type residentSplit struct {
	smapsSplit
	HeapObjects, HeapUnused, HeapFree int64 // live and not yet swept objects; free slots of spans in use; freed spans not returned
	Stacks, OSStacks                  int64 // goroutine stacks from the heap; stacks the OS allocated (threads')
	MSpan, MCache                     int64 // span and per-P cache structures, in use and free
	GCMeta                            int64 // /memory/classes/metadata/other: mark and allocation bits, arena metadata, GC work buffers (these in the heap's mapping)
	Profiling, Other                  int64 // profiling buckets; the runtime's other memory (trace, debug, ...)
	Goroutines                        int64
}

// readResidentSplit reads the runtime's classes and then smaps, right after
// each other (the smaps read's own allocation comes after the classes).
func readResidentSplit() residentSplit {
	var s residentSplit
	names := map[string]*int64{
		"/memory/classes/heap/objects:bytes":          &s.HeapObjects,
		"/memory/classes/heap/unused:bytes":           &s.HeapUnused,
		"/memory/classes/heap/free:bytes":             &s.HeapFree,
		"/memory/classes/heap/stacks:bytes":           &s.Stacks,
		"/memory/classes/os-stacks:bytes":             &s.OSStacks,
		"/memory/classes/metadata/mspan/inuse:bytes":  &s.MSpan,
		"/memory/classes/metadata/mspan/free:bytes":   &s.MSpan,
		"/memory/classes/metadata/mcache/inuse:bytes": &s.MCache,
		"/memory/classes/metadata/mcache/free:bytes":  &s.MCache,
		"/memory/classes/metadata/other:bytes":        &s.GCMeta,
		"/memory/classes/profiling/buckets:bytes":     &s.Profiling,
		"/memory/classes/other:bytes":                 &s.Other,
		"/sched/goroutines:goroutines":                &s.Goroutines,
	}
	samples := make([]rtmetrics.Sample, 0, len(names))
	for name := range names {
		samples = append(samples, rtmetrics.Sample{Name: name})
	}
	rtmetrics.Read(samples)
	for _, m := range samples {
		if m.Value.Kind() == rtmetrics.KindUint64 {
			*names[m.Name] += int64(m.Value.Uint64())
		}
	}
	s.smapsSplit = readSmaps()
	return s
}

// String is the bench table's cell.
func (s residentSplit) String() string {
	if s.RSS == 0 {
		return "—"
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	exe := s.ExeText + s.ExeRodata + s.ExeData
	return fmt.Sprintf("%.1f = file %.1f (executable %.1f: code %.1f, read-only data %.1f, data %.1f; store map, libraries %.1f)"+
		" + executable's written data and bss %.1f"+
		" + Go heap %.1f (holds heap objects %.1f, unused in spans %.1f, freed not returned %.1f, goroutine stacks %.1f (%d goroutines))"+
		" + runtime metadata %.1f (mapped: mspan %.1f, mcache %.1f, GC %.1f (its work buffers lie in the heap's mapping), profiling %.1f, other %.1f, OS stacks %.1f)"+
		" + main thread's stack %.1f MiB",
		mib(s.RSS), mib(s.File), mib(exe), mib(s.ExeText), mib(s.ExeRodata), mib(s.ExeData), mib(s.File-exe),
		mib(s.DataBSS),
		mib(s.Heap), mib(s.HeapObjects), mib(s.HeapUnused), mib(s.HeapFree), mib(s.Stacks), s.Goroutines,
		mib(s.OtherAnon), mib(s.MSpan), mib(s.MCache), mib(s.GCMeta), mib(s.Profiling), mib(s.Other), mib(s.OSStacks),
		mib(s.MainStack))
}
