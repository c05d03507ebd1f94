//go:build linux

package bench

import "testing"

// One read of this process's smaps: the executable's file pages are part
// of the file-backed ones, which are what the status file counts, and
// the bss is found (the runtime's heap structure lives there, written at
// the start).
func TestReadSmapsSplitsThisProcess(t *testing.T) {
	s := readSmaps()
	exe := s.ExeText + s.ExeRodata + s.ExeData
	if s.ExeText < 1<<20 || s.ExeRodata == 0 {
		t.Fatalf("%+v: a test binary's resident code alone is above 1 MiB, and it reads read-only data", s)
	}
	if exe > s.File {
		t.Errorf("executable %d bytes > file-backed %d bytes: the rest would print negative", exe, s.File)
	}
	near := func(what string, got, want int64) {
		t.Helper()
		if d := got - want; d < -1<<20 || d > 1<<20 {
			t.Errorf("%s: %d bytes from smaps, the status file says %d", what, got, want)
		}
	}
	// The anonymous part moves between two reads (the test binary's other
	// tests allocate); the file-backed one hardly does.
	near("file-backed", s.File, rssFileBytes())
	// What is neither is the vDSO's few pages.
	if other := s.RSS - s.File - s.Anon; other < 0 || other > 64<<10 {
		t.Errorf("resident %d bytes, file-backed %d + anonymous %d: %d bytes neither", s.RSS, s.File, s.Anon, other)
	}
	if s.DataBSS < 64<<10 || s.DataBSS > s.Anon {
		t.Errorf("the executable's data and bss %d bytes (anonymous %d): the runtime's mheap_ in the bss alone is about 90 KiB", s.DataBSS, s.Anon)
	}
}
