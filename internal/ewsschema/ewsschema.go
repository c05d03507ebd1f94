// Package ewsschema validates SOAP envelopes against Microsoft's EWS schema
// with the offline validator in the repository's testdata/ews-schema.
// It is used by tests of the client (every request) and of the simulator
// (every response).
//
// The schema is compiled once per test binary: a long-lived python process
// (serve.py, lxml over the same libxml2 XSD validator that xmllint uses)
// validates every envelope of the binary's tests. Where python3-lxml is
// missing, each validation runs the validator script (python3 + xmllint),
// which compiles the schema again every time (1–2 s on a busy machine).
package ewsschema

import (
	"errors"
	"sync"
	"testing"
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
	failed, report := run(t, []envelopeFile{{Label: sanitize(name) + ".xml", Data: envelopes}})
	if failed {
		return &reportError{report: report + "\n--- message ---\n" + string(envelopes)}
	}
	return nil
}

var fallbackNote sync.Once

// run validates files and reports whether any element failed, with the
// validator's report. Missing tools fail the test in CI and skip it
// elsewhere (internal/testenv).
func run(t testing.TB, files []envelopeFile) (failed bool, report string) {
	t.Helper()
	validator, python := tools(t)
	s, err := shared(python, validator)
	if errors.Is(err, errNoLxml) {
		fallbackNote.Do(func() {
			t.Logf("ewsschema: %v; validating with one xmllint run per call (slow; apt-get install -y python3-lxml)", err)
		})
		return runScript(t, validator, python, files)
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	n, report, err := s.validate(files)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return n > 0, report
}

type reportError struct{ report string }

func (e *reportError) Error() string { return e.report }
