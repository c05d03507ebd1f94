package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBenchUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), Env{Args: []string{"bench", "-mailboxes", "ten"}, Stdout: &out, Stderr: &errOut}); code != 2 {
		t.Errorf("Main(-mailboxes ten) = %d, want 2", code)
	}
	if code := Main(context.Background(), Env{Args: []string{"bench", "-auth", "kerberos"}, Stdout: &out, Stderr: &errOut}); code != 2 || !strings.Contains(errOut.String(), "expected basic or ntlm") {
		t.Errorf("Main(-auth kerberos) = %d, stderr %q; want 2 and the valid choices", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "not a positive number") {
		t.Errorf("stderr = %q, want a precise usage error", errOut.String())
	}
}
