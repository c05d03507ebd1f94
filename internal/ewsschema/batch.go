package ewsschema

import (
	"fmt"
	"sync"
	"testing"
)

// Batch gathers envelopes and validates them all in one request when the
// test ends, for a test that collects answers in many places (or in
// handlers where failing the test is awkward). A failure names the envelope
// as Add was told, in the validator's report.
type Batch struct {
	t     testing.TB
	mu    sync.Mutex
	files []envelopeFile
}

// NewBatch returns a batch whose envelopes are validated in t's cleanup.
func NewBatch(t testing.TB) *Batch {
	t.Helper()
	tools(t) // a missing tool skips (or fails in CI) now, not at the end
	b := &Batch{t: t}
	t.Cleanup(b.check)
	return b
}

// Add queues one or more concatenated envelopes under name.
func (b *Batch) Add(name string, envelopes []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	label := fmt.Sprintf("%03d-%s.xml", len(b.files), sanitize(name))
	b.files = append(b.files, envelopeFile{Label: label, Data: append([]byte(nil), envelopes...)})
}

func (b *Batch) check() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.files) == 0 {
		return
	}
	if failed, report := run(b.t, b.files); failed {
		b.t.Errorf("EWS schema validation of %d envelopes failed:\n%s", len(b.files), report)
	}
}
