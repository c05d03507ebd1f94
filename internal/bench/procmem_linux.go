//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
)

// procMem reads this process's resident memory for the peak sampler
// (peak.go) without allocating: its files stay open and are read into
// buffers it keeps.
//
// Why: the sampler runs every 100 ms during the load it measures, inside
// the measured process. Reading /proc/self/status and the whole smaps with
// os.ReadFile and strings.Split allocated thousands of objects a sample and
// had the kernel walk the page tables of every mapping (the Go heap's
// included) — counted in the load's CPU and allocations.
type procMem struct {
	statm, smaps *os.File
	page         int64
	exe          []byte
	buf          [128]byte
	rd           *bufio.Reader
}

// newProcMem opens the files; nil if /proc cannot be read (the sampler then
// records nothing).
func newProcMem() *procMem {
	statm, err := os.Open("/proc/self/statm")
	if err != nil {
		return nil
	}
	smaps, err := os.Open("/proc/self/smaps")
	if err != nil {
		statm.Close()
		return nil
	}
	exe, _ := os.Executable()
	return &procMem{statm: statm, smaps: smaps, page: int64(os.Getpagesize()), exe: []byte(exe), rd: bufio.NewReaderSize(smaps, 16<<10)}
}

func (p *procMem) close() {
	p.statm.Close()
	p.smaps.Close()
}

// rss returns the resident set and its file-backed part (statm's
// "resident" and "shared": RssFile + RssShmem, and calsync maps no shared
// memory), in bytes.
func (p *procMem) rss() (rss, file int64) {
	n, err := p.statm.ReadAt(p.buf[:], 0)
	if err != nil && err != io.EOF {
		return 0, 0
	}
	// size resident shared text lib data dt, in pages.
	f := p.buf[:n]
	field := func() int64 {
		for len(f) > 0 && f[0] == ' ' {
			f = f[1:]
		}
		var v int64
		for len(f) > 0 && f[0] >= '0' && f[0] <= '9' {
			v = v*10 + int64(f[0]-'0')
			f = f[1:]
		}
		return v
	}
	field()
	rss, file = field(), field()
	return rss * p.page, file * p.page
}

// executable returns the resident part of the mappings of this process's
// executable, in bytes. It reads smaps only as far as those mappings: they
// lie below the heap's, so the kernel does not walk the rest.
func (p *procMem) executable() int64 {
	if len(p.exe) == 0 {
		return 0
	}
	if _, err := p.smaps.Seek(0, io.SeekStart); err != nil {
		return 0
	}
	p.rd.Reset(p.smaps)
	var kb int64
	inExe, seen := false, false
	for {
		line, err := p.rd.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A longer line than the buffer (a mapping's path): skip it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = p.rd.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return kb * 1024
		}
		if path, ok := mappingPath(line); ok {
			// A replaced executable shows as "path (deleted)".
			inExe = bytes.Equal(bytes.TrimSuffix(path, []byte(" (deleted)")), p.exe)
			if !inExe && seen {
				return kb * 1024
			}
			seen = seen || inExe
			continue
		}
		if inExe && bytes.HasPrefix(line, []byte("Rss:")) {
			kb += parseKB(line[len("Rss:"):])
		}
	}
}

// mappingPath reports whether line is the header of a mapping in smaps
// ("start-end perms offset dev inode [path]") and returns its path.
func mappingPath(line []byte) ([]byte, bool) {
	// Field lines start with a capitalised name and a colon ("Rss:");
	// headers with a hexadecimal address range.
	i := bytes.IndexByte(line, ' ')
	if i <= 0 || line[i-1] == ':' || bytes.IndexByte(line[:i], '-') < 0 {
		return nil, false
	}
	rest := line[i:]
	for range 4 { // perms offset dev inode
		rest = bytes.TrimLeft(rest, " ")
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			return nil, true
		}
		rest = rest[j:]
	}
	path := bytes.TrimSpace(rest)
	if len(path) == 0 || path[0] != '/' {
		return nil, true // anonymous, [heap], [stack], ...
	}
	return path, true
}

// parseKB reads the number of " 1234 kB".
func parseKB(b []byte) int64 {
	var v int64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v*10 + int64(c-'0')
		case c == ' ' || c == '\t':
			if v > 0 {
				return v
			}
		default:
			return v
		}
	}
	return v
}
