package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/internal/testenv"
)

// TestDemoSIP: `calsync demo --sip` starts a local Kamailio and prints a
// watcher's view of the first users, ending with the demo.
func TestDemoSIP(t *testing.T) {
	if _, err := kamailio.Binary(); err != nil {
		testenv.Missing(t, "Kamailio with its presence modules ("+err.Error()+")", kamailio.Install)
	}
	var stdout, stderr testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, Env{Args: []string{"demo", "--sip", "--listen", "127.0.0.1:0", "--mailboxes", "10", "--meeting-every", "200ms", "--churn", "0"}, Stdout: &stdout, Stderr: &stderr})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exited with %d; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("demo did not stop within 30s")
		}
	}()
	// A published presence (basic status open) of a watched user.
	shown := regexp.MustCompile(`SIP watcher \d\d:\d\d:\d\d sip:user[1-5]@example\.com: open`)
	testenv.WaitFor(t, "a watched user's presence on stdout", func() bool { return shown.MatchString(stdout.String()) })
	out := stdout.String()
	if h, w := strings.Index(out, "Kamailio presence server: sip:"), strings.Index(out, "SIP watcher"); h < 0 || h > w {
		t.Fatalf("the watcher's lines come before the header saying what they are:\n%s", out)
	}
}
