package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
)

func TestSimGraphFlagsValidation(t *testing.T) {
	for _, args := range [][]string{
		{"--cloud-mailboxes", "3", "--mailboxes", "2"},
		{"--cloud-mailboxes", "-1"},
		{"--tenant", ""},
		{"--tenant", "a/b"},
		{"--client-id", " "},
		{"--client-secret", ""},
	} {
		var out, errb bytes.Buffer
		if got := simMain(context.Background(), args, &out, &errb); got != 2 {
			t.Errorf("simMain(%q) = %d, want 2; stderr: %s", args, got, errb.String())
		}
	}
	var out, errb bytes.Buffer
	simMain(context.Background(), []string{"--help"}, &out, &errb)
	for _, f := range []string{"tenant", "client-id", "client-secret", "cloud-mailboxes"} {
		if !strings.Contains(errb.String(), "-"+f) {
			t.Errorf("--help does not document -%s", f)
		}
	}
}

// TestSimServesGraph: the printed Graph lines are enough to get a token
// and read a cloud mailbox; an on-premises one answers
// MailboxNotEnabledForRESTAPI until the control API moves it.
func TestSimServesGraph(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr testenv.SyncBuffer
	done := make(chan int)
	go func() {
		done <- simMain(ctx, []string{"--listen", "127.0.0.1:0", "--mailboxes", "2", "--cloud-mailboxes", "1", "--tenant", "fabrikam.example",
			"--client-id", "app-1", "--client-secret", "pw-1", "--log-level", "warn"}, pw, &stderr)
		pw.Close()
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("sim exited %d; stderr %s", code, stderr.String())
		}
	}()
	lines := map[string]string{}
	r := bufio.NewReader(pr)
	for lines["Cloud mailboxes"] == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the banner: %v (got %q; stderr %s)", err, lines, stderr.String())
		}
		k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
		lines[k] = v
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	if got := lines["Cloud mailboxes"]; got != "1 (user2@example.com … user2@example.com)" {
		t.Errorf("cloud mailboxes line %q", got)
	}
	if got := lines["Graph app"]; got != "tenant fabrikam.example, client id app-1, client secret pw-1" {
		t.Errorf("Graph app line %q", got)
	}
	resp, err := http.PostForm(lines["Token endpoint"], url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-1"},
		"client_secret": {"pw-1"}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("token from %s: %d %v", lines["Token endpoint"], resp.StatusCode, err)
	}
	get := func(user string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, lines["Graph endpoint"]+"/users/"+user+"/mailboxSettings", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("user2@example.com"); status != 200 {
		t.Fatalf("cloud mailbox: %d %s", status, body)
	}
	if status, body := get("user1@example.com"); status != 404 || !strings.Contains(body, "MailboxNotEnabledForRESTAPI") {
		t.Fatalf("on-premises mailbox: %d %s", status, body)
	}
	control := strings.TrimSuffix(lines["Control API"], "/")
	req, _ := http.NewRequest(http.MethodPost, control+"/mailboxes/user1@example.com/move", strings.NewReader(`{"to":"cloud","phase":"0s"}`))
	req.SetBasicAuth("svc-calsync@example.com", "password")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("move: %d", resp.StatusCode)
	}
	if status, body := get("user1@example.com"); status != 200 {
		t.Fatalf("moved mailbox: %d %s", status, body)
	}
}
