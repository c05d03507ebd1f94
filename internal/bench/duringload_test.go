package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
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

// TestRunDuringLoadEndsAtItsLoadTimeout: a load that outlasts the timeout
// ends the run with an error naming how far it got (before, the change
// loop ran until every mailbox was live, forever if one never was).
func TestRunDuringLoadEndsAtItsLoadTimeout(t *testing.T) {
	exe, stderr := simChild(t)
	_, err := RunDuringLoad(context.Background(), DuringLoadConfig{Mailboxes: 40, Servers: 2, LoadTimeout: time.Nanosecond, SimExe: exe, Stderr: stderr})
	if err == nil || !strings.Contains(err.Error(), "of 40 mailboxes live") || !strings.Contains(err.Error(), "-load-timeout") {
		t.Fatalf("RunDuringLoad error = %v, want the load timeout's error naming how many of the 40 are live", err)
	}
}
