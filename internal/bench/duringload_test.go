package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunDuringLoadSmall: 40 mailboxes, 4 live first; the changes made
// while the other 36 load are all stored, and the table shows them.
func TestRunDuringLoadSmall(t *testing.T) {
	exe, stderr := simChild(t)
	r, err := RunDuringLoad(context.Background(), DuringLoadConfig{Mailboxes: 40, Servers: 2, SimExe: exe, Stderr: stderr})
	if err != nil {
		t.Fatalf("RunDuringLoad error = %v\n%s", err, stderr.String())
	}
	if r.Live != 4 || r.Load <= 0 || r.Samples == 0 || r.Unsynced != 0 {
		t.Errorf("RunDuringLoad = %+v, want 4 live first, a load time and stored changes, none unsynced", r)
	}
	var out bytes.Buffer
	WriteDuringLoadTable(&out, []DuringLoadResult{r})
	if !strings.Contains(out.String(), "| 40 mailboxes, 4 live first |") {
		t.Errorf("table lacks the size column:\n%s", out.String())
	}
}
