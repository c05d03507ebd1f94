package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
)

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// startDemo runs `calsync demo args…` in the background until the test
// ends; then it must exit with 0 within stopWithin.
func startDemo(t *testing.T, stopWithin time.Duration, args ...string) (*testenv.SyncBuffer, *testenv.SyncBuffer) {
	t.Helper()
	stdout, stderr := &testenv.SyncBuffer{}, &testenv.SyncBuffer{}
	env := Env{Args: append([]string{"demo"}, args...), Stdout: stdout, Stderr: stderr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- Main(ctx, env) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exited with %d; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(stopWithin):
			t.Errorf("demo did not stop within %s", stopWithin)
		}
	})
	return stdout, stderr
}

// waitDashboard waits for the dashboard's URL on the demo's stdout.
func waitDashboard(t *testing.T, stdout *testenv.SyncBuffer) string {
	t.Helper()
	dashLine := regexp.MustCompile(`Dashboard: (http://\S+)`)
	var base string
	testenv.WaitFor(t, "the dashboard URL on stdout", func() bool {
		m := dashLine.FindStringSubmatch(stdout.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})
	return base
}

// TestDemo runs `calsync demo` as a newcomer would and checks that it
// prints the dashboard URL, serves the dashboard, syncs every mailbox and
// publishes presence, including a change booked while it runs.
func TestDemo(t *testing.T) {
	stdout, stderr := startDemo(t, 20*time.Second, "--listen", "127.0.0.1:0", "--mailboxes", "40", "--meeting-every", "300ms", "--churn", "5")
	base := waitDashboard(t, stdout)

	resp, err := http.Get(base)
	if err != nil {
		t.Fatalf("GET %s: %v", base, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "calsync") {
		t.Fatalf("dashboard answered %d:\n%.300s", resp.StatusCode, page)
	}

	// The simulator's address and credentials are printed, and they work.
	simLine := regexp.MustCompile(`EWS simulator: (http://\S+)/EWS/Exchange\.asmx\nAutodiscover: (http://\S+)\nCredentials \(basic\): (\S+), password (\S+) `)
	m := simLine.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("stdout lacks the simulator's URL and credentials:\n%s", stdout.String())
	}
	if m[2] != m[1]+"/autodiscover/autodiscover.svc" {
		t.Errorf("Autodiscover URL %q is not the simulator's", m[2])
	}
	req, _ := http.NewRequest(http.MethodGet, m[1]+"/sim/v1/stats", nil)
	req.SetBasicAuth(m[3], m[4])
	simResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	simResp.Body.Close()
	if simResp.StatusCode != http.StatusOK {
		t.Errorf("the simulator refused the printed credentials: %d", simResp.StatusCode)
	}

	type users struct {
		Total  int            `json:"total"`
		Counts map[string]int `json:"counts"`
		Users  []struct {
			Availability string `json:"availability"`
		} `json:"users"`
	}
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	}()
	testenv.WaitForWithin(t, 60*time.Second, "every mailbox synced", func() bool {
		return strings.Contains(stdout.String(), "sync: 40/40 mailboxes synced")
	})
	// Ad-hoc meetings booked every 300ms make someone busy, tentative,
	// out of office or working elsewhere within seconds.
	testenv.WaitFor(t, "presence other than available", func() bool {
		var u users
		if err := getJSON(base+"api/v1/users?limit=100", &u); err != nil {
			return false
		}
		if u.Total != 40 || u.Counts["unknown"] > 0 {
			return false
		}
		return u.Counts["available"] < 40
	})
}

// TestDemoOnABusyPortSaysHowToMove: when the dashboard's port is taken the
// demo exits non-zero, names the address and suggests -listen.
func TestDemoOnABusyPortSaysHowToMove(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var stdout, stderr testenv.SyncBuffer
	code := Main(context.Background(), Env{Args: []string{"demo", "--listen", busy.Addr().String(), "--mailboxes", "5"}, Stdout: &stdout, Stderr: &stderr})
	if code == 0 {
		t.Fatalf("demo on a busy port exited 0; stdout:\n%s", stdout.String())
	}
	for _, want := range []string{busy.Addr().String(), "address already in use", "calsync demo -listen 127.0.0.1:0"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr.String())
		}
	}
}

func TestDemoOnAnInvalidAddressNamesTheFlag(t *testing.T) {
	var stdout, stderr testenv.SyncBuffer
	code := Main(context.Background(), Env{Args: []string{"demo", "--listen", "127.0.0.1:99999", "--mailboxes", "5"}, Stdout: &stdout, Stderr: &stderr})
	if code == 0 {
		t.Fatal("demo on port 99999 exited 0")
	}
	for _, want := range []string{"cannot listen on 127.0.0.1:99999", "calsync demo -listen 127.0.0.1:0"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "api.listen") {
		t.Errorf("the demo's error names the config key api.listen instead of the -listen flag:\n%s", stderr.String())
	}
}
