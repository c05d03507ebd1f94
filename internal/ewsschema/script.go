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

// tools returns the validator script and the python to run it with
// (failing with CI=true, skipping elsewhere, when one is missing).
func tools(t testing.TB) (validator, python string) {
	t.Helper()
	validator = filepath.Join(testenv.ReferenceDir(t), "ews-schema", "validate")
	testenv.LookPath(t, "xmllint", "apt-get install -y libxml2-utils")
	// Debian's python3, not a user's pyenv: it has python3-lxml.
	python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = testenv.LookPath(t, "python3", "apt-get install -y python3")
	}
	return validator, python
}

// runScript validates files with one run of the validator script, which
// compiles the schema with xmllint once per file.
func runScript(t testing.TB, validator, python string, files []envelopeFile) (failed bool, report string) {
	t.Helper()
	dir := t.TempDir()
	args := []string{validator, "-q"}
	for _, f := range files {
		path := filepath.Join(dir, f.Label)
		if err := os.WriteFile(path, f.Data, 0o600); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		args = append(args, path)
	}
	cmd := exec.Command(python, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return err != nil, out.String()
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
