// Package ewsschema validates SOAP envelopes against Microsoft's EWS schema
// with the offline validator in the repository's testdata/ews-schema
// (python3 + xmllint).
// It is used by tests of the client (every request) and of the simulator
// (every response).
package ewsschema

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
)

// Validate checks one or more concatenated SOAP envelopes. It fails the test
// with the validator's report when any element is invalid. SKIP lines
// (Autodiscover, WS-Addressing) are accepted.
func Validate(t testing.TB, name string, envelopes []byte) {
	t.Helper()
	if err := Check(t, name, envelopes); err != nil {
		t.Fatalf("EWS schema validation of %s failed:\n%s", name, err)
	}
}

// Check is like Validate but returns the report as an error instead of failing.
func Check(t testing.TB, name string, envelopes []byte) error {
	t.Helper()
	validator, python := tools(t)
	dir := t.TempDir()
	file := filepath.Join(dir, sanitize(name)+".xml")
	if err := os.WriteFile(file, envelopes, 0o600); err != nil {
		t.Fatalf("write %s: %v", file, err)
	}
	cmd := exec.Command(python, validator, "-q", file)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return &reportError{report: out.String() + "\n--- message ---\n" + string(envelopes)}
	}
	return nil
}

// tools returns the validator script and the python to run it with
// (failing with CI=true, skipping elsewhere, when one is missing).
func tools(t testing.TB) (validator, python string) {
	t.Helper()
	validator = filepath.Join(testenv.ReferenceDir(t), "ews-schema", "validate")
	testenv.LookPath(t, "xmllint", "apt-get install -y libxml2-utils")
	python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = testenv.LookPath(t, "python3", "apt-get install -y python3")
	}
	return validator, python
}

type reportError struct{ report string }

func (e *reportError) Error() string { return e.report }

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
