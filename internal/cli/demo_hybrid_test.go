package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
)

// calsync demo --hybrid syncs every mailbox from its side, and the API the
// dashboard reads says where each lives: 2 of 8 in Exchange Online.
func TestDemoHybrid(t *testing.T) {
	var stdout, stderr testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, Env{Args: []string{"demo", "--hybrid", "--listen", "127.0.0.1:0", "--mailboxes", "8", "--meeting-every", "0", "--churn", "0"}, Stdout: &stdout, Stderr: &stderr})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exited with %d; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("demo did not stop within 20s")
		}
	}()
	dashLine := regexp.MustCompile(`Dashboard: (http://\S+)`)
	var base string
	testenv.WaitFor(t, "the dashboard URL on stdout", func() bool {
		m := dashLine.FindStringSubmatch(stdout.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})
	if !strings.Contains(stdout.String(), "Hybrid: 2 mailboxes in Exchange Online") {
		t.Errorf("stdout lacks the hybrid line:\n%s", stdout.String())
	}
	var last map[string]int
	testenv.WaitFor(t, "6 mailboxes live on Exchange Server and 2 on Exchange Online", func() bool {
		var list struct {
			Users []struct {
				User string `json:"user"`
				Sync *struct {
					State    string `json:"state"`
					HostedOn string `json:"hosted_on"`
				} `json:"sync"`
			} `json:"users"`
		}
		if err := getJSON(base+"api/v1/users?limit=100", &list); err != nil {
			return false
		}
		last = map[string]int{}
		for _, u := range list.Users {
			if u.Sync != nil && u.Sync.State == "live" {
				last[u.Sync.HostedOn]++
			}
		}
		return last["exchange"] == 6 && last["exchange_online"] == 2
	})
}
