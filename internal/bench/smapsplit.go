package bench

import (
	"strconv"
	"strings"
)

// smapsSplit is one read of smaps summed by what each mapping is: the
// whole resident set, its file-backed and anonymous parts, the
// executable's file pages by mapping, and the anonymous pages of the
// executable's data and bss, of the Go heap's mapping, of the main
// thread's stack and of the other anonymous mappings (bytes).
type smapsSplit struct {
	RSS, File, Anon int64
	// Heap is the anonymous mapping that holds a given heap address: the
	// Go heap's arenas, which the runtime maps one after the other
	// (objects, spans' free slots, freed spans not returned, goroutine
	// stacks, the GC's work buffers). MainStack is "[stack]", the thread that started the
	// process. OtherAnon is every other anonymous mapping: the runtime's
	// metadata, which it maps apart from the heap (span structures, GC
	// bitmaps and work buffers, profiling buckets, ...), and the vDSO
	// (and written pages of private file maps, which calsync has none of).
	Heap, MainStack, OtherAnon int64
	// ExeText is the executable's r-x mapping (code), ExeRodata its r--
	// one (read-only data, pclntab, type links), ExeData the file pages of
	// its rw- one (data not written since the start).
	ExeText, ExeRodata, ExeData int64
	// DataBSS is the anonymous pages of the executable's rw- mapping
	// (data written: copies of file pages) and of the anonymous mapping
	// that begins where it ends (the bss, which the kernel maps there).
	DataBSS int64
	// exeDataAnon is the rw- mapping's share of DataBSS (the written data
	// pages, without the bss).
	exeDataAnon int64
}

// parseSmaps sums an smaps text; exe is the executable's path, heapAddr
// the address of an object on the Go heap.
func parseSmaps(b []byte, exe string, heapAddr uint64) smapsSplit {
	var s smapsSplit
	var rss, anon int64
	var perms, path string
	inExe, inFile, inBSS, inHeap := false, false, false, false
	var exeDataEnd string // the end address of the executable's rw- mapping
	flush := func() {
		s.RSS += rss * 1024
		s.Anon += anon * 1024
		if inFile {
			s.File += (rss - anon) * 1024
		}
		switch {
		case inExe && strings.HasPrefix(perms, "r-x"):
			s.ExeText += (rss - anon) * 1024
		case inExe && strings.HasPrefix(perms, "rw"):
			s.ExeData += (rss - anon) * 1024
		case inExe:
			s.ExeRodata += (rss - anon) * 1024
		}
		if inExe && strings.HasPrefix(perms, "rw") {
			s.exeDataAnon += anon * 1024
		}
		switch {
		case inExe && strings.HasPrefix(perms, "rw") || inBSS:
			s.DataBSS += anon * 1024
		case inExe || inFile:
			s.OtherAnon += anon * 1024 // written pages of a private file map: none in calsync
		case inHeap:
			s.Heap += rss * 1024
		case path == "[stack]":
			s.MainStack += rss * 1024
		default:
			s.OtherAnon += rss * 1024
		}
		rss, anon = 0, 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			// A mapping's header: range perms offset dev inode [path].
			flush()
			start, end, _ := strings.Cut(f[0], "-")
			path = strings.TrimSuffix(strings.Join(f[5:], " "), " (deleted)")
			lo, _ := strconv.ParseUint(start, 16, 64)
			hi, _ := strconv.ParseUint(end, 16, 64)
			inHeap = heapAddr >= lo && heapAddr < hi
			perms = f[1]
			inExe = exe != "" && path == exe
			inFile = f[4] != "0" // an inode: a file (anonymous mappings have 0)
			inBSS = !inFile && path == "" && exeDataEnd != "" && start == exeDataEnd
			exeDataEnd = ""
			if inExe && strings.HasPrefix(perms, "rw") {
				exeDataEnd = end
			}
		case len(f) >= 2 && f[0] == "Rss:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		case len(f) >= 2 && f[0] == "Anonymous:":
			anon, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	flush()
	return s
}
