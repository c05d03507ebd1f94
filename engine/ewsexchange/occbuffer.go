package ewsexchange

import (
	"sync"

	"github.com/calsync/calsync/calendar"
)

// occurrenceBuffer is the occurrence slice of a CalendarView page. The
// engine keeps a page's occurrences only while it reads (it commits them —
// the store copies what it keeps — and fingerprints them) and then
// releases the page: the slice is reused for a later page instead of
// being garbage after every read.
type occurrenceBuffer struct {
	occs []calendar.Occurrence
}

var occurrenceBuffers = sync.Pool{New: func() any { return new(occurrenceBuffer) }}

// maxKeptOccurrences bounds a recycled slice (about 100 KB): a rare
// larger view is not kept.
const maxKeptOccurrences = 512

// takeOccurrences returns an empty buffer with room for n occurrences.
func takeOccurrences(n int) *occurrenceBuffer {
	b := occurrenceBuffers.Get().(*occurrenceBuffer)
	if cap(b.occs) < n {
		b.occs = make([]calendar.Occurrence, 0, n)
	}
	return b
}

// release clears the occurrences (their strings are not kept alive by the
// pool) and recycles the buffer. It is called once per page
// (engine.ViewPage.Release).
func (b *occurrenceBuffer) release() {
	clear(b.occs)
	b.occs = b.occs[:0]
	if cap(b.occs) > maxKeptOccurrences {
		b.occs = nil
	}
	occurrenceBuffers.Put(b)
}
