//go:build linux

package bench

import "testing"

// The after-the-load row prints the file-backed RSS as "executable + the
// rest": the executable's share must be part of the whole, read at the
// same instant, and the whole what the status file counts.
func TestFileSplitKeepsTheExecutableInsideTheFileBackedPart(t *testing.T) {
	file, exe := rssFileSplit()
	if exe < 1<<20 {
		t.Fatalf("executable's file-backed part %d bytes: a test binary's text alone is larger", exe)
	}
	if exe > file {
		t.Errorf("executable %d bytes > file-backed %d bytes: the rest would print negative", exe, file)
	}
	if d := file - rssFileBytes(); d < -1<<20 || d > 1<<20 {
		t.Errorf("file-backed %d bytes from smaps, the status file's RssFile says %d", file, rssFileBytes())
	}
	// Its written data pages are anonymous copies: resident in its
	// mappings, not file-backed.
	if all := rssExecutableBytes(); all < exe {
		t.Errorf("all resident pages of the executable %d < its file-backed ones %d", all, exe)
	}
}
