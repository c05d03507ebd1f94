package cli

import (
	"context"
	"fmt"
	"net/url"
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

	// The sync view: one group for Exchange Online with its mailboxes, not
	// one group per cloud mailbox; its key filters the statuses.
	var sync struct {
		Groups []struct {
			Key           string `json:"key"`
			Mailboxes     int    `json:"mailboxes"`
			Subscriptions int    `json:"subscriptions"`
		} `json:"groups"`
	}
	var online []string
	var key string
	defer func() {
		if t.Failed() {
			t.Logf("Exchange Online groups: %v", online)
		}
	}()
	testenv.WaitFor(t, "one Exchange Online group of 2 mailboxes in GET /api/v1/sync", func() bool {
		if err := getJSON(base+"api/v1/sync", &sync); err != nil {
			return false
		}
		online = nil
		n := 0
		for _, g := range sync.Groups {
			if strings.HasPrefix(g.Key, "exchange_online:") {
				online = append(online, fmt.Sprintf("%s (%d mailboxes)", g.Key, g.Mailboxes))
				key, n = g.Key, g.Mailboxes
			}
		}
		return len(online) == 1 && n == 2
	})
	var filtered struct {
		Total    int `json:"total"`
		Statuses []struct {
			HostedOn string `json:"hosted_on"`
		} `json:"statuses"`
	}
	if err := getJSON(base+"api/v1/sync?group="+url.QueryEscape(key), &filtered); err != nil {
		t.Fatal(err)
	}
	if filtered.Total != 2 || len(filtered.Statuses) != 2 || filtered.Statuses[0].HostedOn != "exchange_online" {
		t.Errorf("GET /api/v1/sync?group=%s: %+v, want the 2 cloud mailboxes", key, filtered)
	}
}
