package bench

import (
	"fmt"
	rtmetrics "runtime/metrics"
	"strings"
)

// peakSample is what the engine process's resident set consisted of at one
// moment of a load: the operating system's split (anonymous memory, file
// pages, of them the executable) beside the Go runtime's (heap objects,
// unused room in heap spans, freed heap not returned, stacks, runtime
// metadata). Why: the peak (VmHWM) alone does not say what to cut — at
// 1,000 mailboxes a third of it was the executable's text — and after the
// load, when the bench looks, the load's goroutines and heap are gone.
type peakSample struct {
	RSS, Anon, File, Executable int64
	HeapObjects, HeapUnused     int64 // live and not yet swept objects; in-use spans' free slots
	HeapFree                    int64 // freed spans the runtime keeps (may be resident)
	Stacks, Metadata            int64 // goroutine and OS stacks; GC and allocator metadata, profiling buckets, other
	Goroutines                  int64
}

// peakSampler keeps the sample with the largest RSS seen. A sample that
// is no new maximum costs one read of /proc/self/statm and allocates
// nothing; only a new maximum reads the executable's part (the start of
// smaps) and the runtime's metrics (procmem_linux.go says why).
type peakSampler struct {
	best    peakSample
	samples []rtmetrics.Sample
	proc    *procMem // nil off Linux
}

func newPeakSampler() *peakSampler {
	var s []rtmetrics.Sample
	for _, d := range rtmetrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") && d.Name != "/memory/classes/total:bytes" && d.Name != "/memory/classes/heap/released:bytes" ||
			d.Name == "/sched/goroutines:goroutines" {
			s = append(s, rtmetrics.Sample{Name: d.Name})
		}
	}
	return &peakSampler{samples: s, proc: newProcMem()}
}

// close releases the files the sampler keeps open.
func (p *peakSampler) close() {
	if p.proc != nil {
		p.proc.close()
	}
}

// sample reads the process's memory now and keeps it if its RSS is the
// largest so far; the costly parts (smaps, runtime metrics) are read only
// then.
func (p *peakSampler) sample() {
	if p.proc == nil {
		if rss := rssBytes(); rss > p.best.RSS {
			p.best = peakSample{RSS: rss}
			p.readRuntime(&p.best)
		}
		return
	}
	rss, file := p.proc.rss()
	if rss <= p.best.RSS {
		return
	}
	s := peakSample{RSS: rss, Anon: rss - file, File: file, Executable: p.proc.executable()}
	p.readRuntime(&s)
	p.best = s
}

// readRuntime fills s's Go runtime classes (no allocation: every metric
// read is a uint64).
func (p *peakSampler) readRuntime(s *peakSample) {
	rtmetrics.Read(p.samples)
	for _, m := range p.samples {
		if m.Value.Kind() != rtmetrics.KindUint64 {
			continue
		}
		v := int64(m.Value.Uint64())
		switch name := m.Name; {
		case name == "/sched/goroutines:goroutines":
			s.Goroutines = v
		case name == "/memory/classes/heap/objects:bytes":
			s.HeapObjects = v
		case name == "/memory/classes/heap/unused:bytes":
			s.HeapUnused = v
		case name == "/memory/classes/heap/free:bytes":
			s.HeapFree = v
		case strings.Contains(name, "stacks"):
			s.Stacks += v
		default:
			s.Metadata += v
		}
	}
}

// String is the bench table's cell.
func (s peakSample) String() string {
	if s.RSS == 0 {
		return "—"
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	return fmt.Sprintf("%.1f = anon %.1f (heap objects %.1f, unused in spans %.1f, freed not returned %.1f, stacks %.1f (%d goroutines), runtime %.1f) + file %.1f (executable %.1f) MiB",
		mib(s.RSS), mib(s.Anon), mib(s.HeapObjects), mib(s.HeapUnused), mib(s.HeapFree), mib(s.Stacks), s.Goroutines, mib(s.Metadata), mib(s.File), mib(s.Executable))
}
