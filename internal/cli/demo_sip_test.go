package cli

import (
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
	stdout, _ := startDemo(t, 30*time.Second, "--sip", "--listen", "127.0.0.1:0", "--mailboxes", "10", "--meeting-every", "200ms", "--churn", "0")
	// A published presence (basic status open) of a watched user.
	shown := regexp.MustCompile(`SIP watcher \d\d:\d\d:\d\d sip:user[1-5]@example\.com: open`)
	testenv.WaitFor(t, "a watched user's presence on stdout", func() bool { return shown.MatchString(stdout.String()) })
	out := stdout.String()
	if h, w := strings.Index(out, "Kamailio presence server: sip:"), strings.Index(out, "SIP watcher"); h < 0 || h > w {
		t.Fatalf("the watcher's lines come before the header saying what they are:\n%s", out)
	}
}
