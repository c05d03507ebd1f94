package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunSSESmall: a whole instance against the simulator child; every
// change made in the simulator reaches the SSE client as the mailbox's
// presence event (none missed).
func TestRunSSESmall(t *testing.T) {
	exe, stderr := simChild(t)
	cfg := SSEConfig{Mailboxes: 30, Servers: 2, Changes: 8, Interval: 20 * time.Millisecond, CoalesceDelay: 50 * time.Millisecond, SimExe: exe, Stderr: stderr}
	r, err := RunSSE(context.Background(), cfg)
	if err != nil {
		t.Fatalf("RunSSE error = %v\n%s", err, stderr.String())
	}
	if r.Missed != 0 || r.Samples+r.Skipped != 8 || r.Samples == 0 || r.InitialLoad <= 0 {
		t.Errorf("RunSSE = %+v, want every change's event received", r)
	}
	var out bytes.Buffer
	WriteSSETable(&out, []SSEResult{r})
	t.Log("\n" + out.String())
	if !strings.Contains(out.String(), "presence event at an SSE client") {
		t.Errorf("table lacks the latency row:\n%s", out.String())
	}
}
