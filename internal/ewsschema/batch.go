package ewsschema

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Batch gathers envelopes and validates them all in one validator run when
// the test ends. Each run starts python and lets xmllint parse the whole
// EWS schema, 1–2 s on a busy machine: a test that validates dozens of
// responses one by one spent most of its time there (TestWire-
// OtherWellKnownFolders: 46 s). A failure names the envelope as Add was
// told, in the validator's report.
type Batch struct {
	t     testing.TB
	dir   string
	mu    sync.Mutex
	files []string
	texts map[string][]byte
}

// NewBatch returns a batch whose envelopes are validated in t's cleanup.
func NewBatch(t testing.TB) *Batch {
	t.Helper()
	validator, python := tools(t)
	b := &Batch{t: t, dir: t.TempDir(), texts: map[string][]byte{}}
	t.Cleanup(func() { b.check(validator, python) })
	return b
}

// Add queues one or more concatenated envelopes under name.
func (b *Batch) Add(name string, envelopes []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	file := filepath.Join(b.dir, fmt.Sprintf("%03d-%s.xml", len(b.files), sanitize(name)))
	if err := os.WriteFile(file, envelopes, 0o600); err != nil {
		b.t.Fatalf("write %s: %v", file, err)
	}
	b.files = append(b.files, file)
	b.texts[file] = envelopes
}

func (b *Batch) check(validator, python string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.files) == 0 {
		return
	}
	cmd := exec.Command(python, append([]string{validator, "-q"}, b.files...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		b.t.Errorf("EWS schema validation of %d envelopes failed:\n%s", len(b.files), out.String())
	}
}
