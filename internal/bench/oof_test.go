package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The automatic-replies phase: every change made in the simulator shows
// as out of office in presence, found by polling mail tips, at the cost of
// exactly one GetUserOofSettings per changed mailbox.
func TestRunSmallMeasuresAutomaticReplies(t *testing.T) {
	r := runSmall(t, Config{Changes: 1, OOFChanges: 5, OOFPollInterval: 2 * time.Second})
	o := r.OOF
	if o.Changes != 5 || o.Detected != 5 {
		t.Fatalf("OOF phase = %+v, want 5 changes, all seen in presence", o)
	}
	if o.MailTips < 1 || o.Limit != 50 {
		t.Errorf("OOF phase = %+v, want GetMailTips counted and the simulator's limit 50", o)
	}
	if o.OOFSettings != 5 {
		t.Errorf("GetUserOofSettings during the phase = %d, want 5 (only the changed mailboxes)", o.OOFSettings)
	}
	var out bytes.Buffer
	WriteTable(&out, []Result{r})
	if !strings.Contains(out.String(), "| OOF: GetUserOofSettings per changed mailbox | 1.00 (5 for 5 changes) |") {
		t.Errorf("table lacks the OOF rows:\n%s", out.String())
	}
}
