package boltstore

import (
	"sync"

	"github.com/calsync/calsync/calendar"
)

// commitScratch is the memory a CommitWindow needs only until its
// transaction ends: the normalised occurrences and their encoded window
// value. bolt copies a value into its pages when the transaction commits
// and keeps no reference after it ends, so both are reused by the next
// commit instead of becoming garbage: at an initial load every mailbox
// commits once, and these were 26 of the 68 KB a first commit allocated
// (BenchmarkFirstLoad, docs/BENCHMARKS.md).
type commitScratch struct {
	occs []calendar.Occurrence
	val  []byte
}

// The buffers of an unusually large window (a heavy calendar) stay out of
// the pool, so that it holds no more than a few ordinary windows' worth
// of memory.
const (
	maxScratchBytes       = 256 << 10
	maxScratchOccurrences = 1000
)

var commitScratchPool = sync.Pool{New: func() any { return new(commitScratch) }}

func getCommitScratch() *commitScratch { return commitScratchPool.Get().(*commitScratch) }

// putCommitScratch returns s to the pool once its transaction has ended.
func putCommitScratch(s *commitScratch) {
	if cap(s.val) > maxScratchBytes || cap(s.occs) > maxScratchOccurrences {
		return
	}
	clear(s.occs) // drop the strings: the pool must not keep them alive
	s.occs = s.occs[:0]
	s.val = s.val[:0]
	commitScratchPool.Put(s)
}
