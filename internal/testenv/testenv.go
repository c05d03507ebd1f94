// Package testenv lets tests require real external components (xmllint,
// slapd, chromium, python3-exchangelib) and finds the repository's reference
// data (EWS schema and sample messages in testdata/).
//
// When a component is missing, a test fails if the environment variable CI
// is "true" (CI must install everything) and is skipped otherwise, with a
// message that says how to install it.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// InCI reports whether tests run under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing fails the test in CI and skips it locally, naming what is missing
// and how to install it.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is missing (CI=true requires it); install with: %s", what, install)
	}
	t.Skipf("%s is missing; install with: %s (skipped locally, fails in CI)", what, install)
}

// LookPath returns the absolute path of an executable or calls Missing.
func LookPath(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, install)
	}
	return p
}

// RepoRoot returns the directory holding go.mod, walking up from the
// current directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// ReferenceDir returns the repository's testdata folder that holds
// Microsoft's EWS schema (testdata/ews-schema) and the sample EWS messages
// (testdata/ews-samples); docs/DEPENDENCIES.md names their provenance. The
// tests need nothing outside the checkout.
func ReferenceDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(RepoRoot(t), "testdata")
	if _, err := os.Stat(filepath.Join(d, "ews-schema", "validate")); err != nil {
		t.Fatalf("the EWS schema is missing from the checkout (%s): %v", d, err)
	}
	return d
}

// WaitTimeout is how long WaitFor waits before it fails the test. It is
// generous on purpose: it bounds a test that would otherwise hang, and must
// never be what a passing test depends on, even on a loaded machine.
const WaitTimeout = 30 * time.Second

// WaitFor polls cond until it holds and fails the test when it still does not
// hold after WaitTimeout. what names the condition for the failure message.
// Poll the condition the test asserts, not a proxy of it.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	WaitForWithin(t, WaitTimeout, what, cond)
}

// WaitForWithin is WaitFor with its own limit, for conditions that take long
// by nature (a whole simulated organisation syncing, a server starting).
func WaitForWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(pause) // polling interval, not synchronisation
		pause = min(2*pause, 50*time.Millisecond)
	}
}
