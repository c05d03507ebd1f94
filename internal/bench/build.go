package bench

import "github.com/calsync/calsync/internal/buildinfo"

// Header is the line the bench prints above its tables: which binary is
// measured (the engine runs in the bench's own process) and how it was
// linked. Why: `go build` links with cgo wherever a C compiler is
// installed, and such a build maps libc and the dynamic loader and starts
// its threads through pthreads — its peak RSS at 1,000 mailboxes was 2–6
// MiB above the static release build's of the same commit
// (docs/BENCHMARKS.md, session 9), more than the margin to the target.
func Header() string {
	return "binary: " + buildinfo.String() + " (" + CgoNote(buildinfo.Cgo()) + ")"
}

// CgoNote says what a CGO_ENABLED setting means for the memory figures.
func CgoNote(cgo string) string {
	switch cgo {
	case "0":
		return "CGO_ENABLED=0: static, the release build"
	case "1":
		return "CGO_ENABLED=1: links libc, more RSS than the release build; build with CGO_ENABLED=0"
	default:
		return "cgo setting not recorded"
	}
}
