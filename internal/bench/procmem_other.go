//go:build !linux

package bench

// procMem is Linux's /proc reader (procmem_linux.go); elsewhere the peak
// sampler falls back to the Go runtime's view (newProcMem returns nil).
type procMem struct{}

func newProcMem() *procMem { return nil }

func (*procMem) close() {}

func (*procMem) rss() (rss, file int64) { return 0, 0 }

func (*procMem) executable() int64 { return 0 }
