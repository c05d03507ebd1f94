package cli

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
)

// calsync demo --hybrid syncs every mailbox from its side, and the API the
// dashboard reads says where each lives: 2 of 8 in Exchange Online.
func TestDemoHybrid(t *testing.T) {
	stdout, _ := startDemo(t, 20*time.Second, "--hybrid", "--listen", "127.0.0.1:0", "--mailboxes", "8", "--meeting-every", "0", "--churn", "0")
	base := waitDashboard(t, stdout)
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
