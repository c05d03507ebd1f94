package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/internal/testenv"
)

// simMain runs `calsync sim` with args.
func simMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Main(ctx, Env{Args: append([]string{"sim"}, args...), Stdout: stdout, Stderr: stderr})
}

// firstLine reads the first line of the simulator's stdout and drains
// the rest (the access lines after it), so the simulator never blocks
// writing them.
func firstLine(r io.Reader) (string, error) {
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, br) }()
	return line, err
}

func TestSimFlagsValidation(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"--help"}, 0},
		{[]string{"--throttling", "none"}, 2},
		{[]string{"--servers", "0"}, 2},
		{[]string{"--mailboxes", "-1"}, 2},
		{[]string{"--concurrent-sync-calls", "-2"}, 2},
		{[]string{"--item-latency", "-1s"}, 2},
		{[]string{"--mailtips-recipients", "0"}, 2},
		{[]string{"--clock", "tomorrow"}, 2},
		{[]string{"--full-access", "ghost@example.com", "--listen", "127.0.0.1:0"}, 1},
		{[]string{"extra"}, 2},
		{[]string{"--auth", "kerberos", "--listen", "127.0.0.1:0"}, 2},
		{[]string{"--log-level", "loud", "--listen", "127.0.0.1:0"}, 2},
		{[]string{"--tls-cert", "a.pem"}, 2},
		{[]string{"--tls", "--tls-cert", "a.pem", "--tls-key", "b.pem"}, 2},
		{[]string{"--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key", "--listen", "127.0.0.1:0"}, 1},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if got := simMain(context.Background(), tt.args, &out, &errb); got != tt.want {
			t.Errorf("simMain(%q) = %d, want %d; stderr: %s", tt.args, got, tt.want, errb.String())
		}
	}
	var out, errb bytes.Buffer
	simMain(context.Background(), []string{"--help"}, &out, &errb)
	for _, f := range []string{"listen", "mailboxes", "domain", "service-account", "password", "seed", "servers", "latency", "item-latency", "churn", "throttling", "concurrent-sync-calls", "auth", "heartbeat"} {
		if !strings.Contains(errb.String(), "-"+f) {
			t.Errorf("--help does not document -%s", f)
		}
	}
}

func TestSimPolicyFlags(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{nil, 5},
		{[]string{"--throttling", "exo"}, 5},
		{[]string{"--throttling", "unlimited"}, ewsmem.Unlimited},
		{[]string{"--concurrent-sync-calls", "2"}, 2},
		{[]string{"--concurrent-sync-calls", "-1"}, ewsmem.Unlimited},
		{[]string{"--throttling", "unlimited", "--concurrent-sync-calls", "3"}, 3},
	}
	for _, tt := range tests {
		c, code := parseSimFlags(tt.args, io.Discard)
		if c == nil {
			t.Fatalf("parse(%q) exited %d", tt.args, code)
		}
		if got := policyOf(c).ConcurrentSyncCalls; got != tt.want {
			t.Errorf("policyOf(%q).ConcurrentSyncCalls = %d, want %d", tt.args, got, tt.want)
		}
	}
}

// --mailtips-recipients reaches the model (GetMailTips' limit and what
// GetServiceConfiguration reports; the wire behaviour is tested in ewsmem).
func TestSimMailTipsRecipients(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
	}{{nil, ews.DefaultMaxMailTipsRecipients}, {[]string{"--mailtips-recipients", "100"}, 100}} {
		c, code := parseSimFlags(tt.args, io.Discard)
		if c == nil {
			t.Fatalf("parse(%q) exited %d", tt.args, code)
		}
		if got := simOptions(c, nil).MaxMailTipsRecipients; got != tt.want {
			t.Errorf("simOptions(%q).MaxMailTipsRecipients = %d, want %d", tt.args, got, tt.want)
		}
	}
}

func TestSimServeAndControlAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr testenv.SyncBuffer
	done := make(chan int)
	go func() {
		done <- simMain(ctx, []string{"--listen", "127.0.0.1:0", "--mailboxes", "3", "--auth", "basic", "--password", "pw"}, pw, &stderr)
		pw.Close()
	}()
	line, err := firstLine(pr)
	if err != nil {
		t.Fatalf("reading endpoint line: %v (stderr %s)", err, stderr.String())
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "EWS endpoint: ")
	if !ok || !strings.HasSuffix(url, "/EWS/Exchange.asmx") {
		t.Fatalf("first stdout line = %q", line)
	}
	base := strings.TrimSuffix(url, "/EWS/Exchange.asmx")
	get := func(path, user, pass string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, _ := get("/sim/v1/stats", "svc-calsync@example.com", "wrong"); status != http.StatusUnauthorized {
		t.Errorf("control API with a wrong password = %d, want 401", status)
	}
	start := time.Now().UTC().Add(-24 * time.Hour).Format(time.RFC3339)
	end := time.Now().UTC().Add(14 * 24 * time.Hour).Format(time.RFC3339)
	status, body := get("/sim/v1/mailboxes/user1@example.com/occurrences?start="+start+"&end="+end, "svc-calsync@example.com", "pw")
	var occ []map[string]any
	if status != 200 || json.Unmarshal(body, &occ) != nil || len(occ) == 0 {
		t.Fatalf("occurrences = %d %s", status, body)
	}
	for _, k := range []string{"item_id", "subject", "start", "end", "all_day", "free_busy", "sensitivity", "cancelled", "item_type"} {
		if _, ok := occ[0][k]; !ok {
			t.Errorf("occurrence lacks %q: %v", k, occ[0])
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("simMain() = %d after cancel; stderr %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("simulator did not stop")
	}
}

func TestSimServeTLS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr testenv.SyncBuffer
	done := make(chan int)
	go func() {
		done <- simMain(ctx, []string{"--listen", "127.0.0.1:0", "--mailboxes", "1", "--tls", "--auth", "none"}, pw, &stderr)
		pw.Close()
	}()
	line, err := firstLine(pr)
	if err != nil {
		t.Fatalf("reading endpoint line: %v", err)
	}
	url := strings.TrimPrefix(strings.TrimSpace(line), "EWS endpoint: ")
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("endpoint = %q, want https", url)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(strings.TrimSuffix(url, "/EWS/Exchange.asmx") + "/sim/v1/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("GET stats over TLS = %d (TLS %v)", resp.StatusCode, resp.TLS != nil)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("simMain() = %d; %s", code, stderr.String())
	}
}

// TestSimPrintsHowToReachIt: the lines `calsync sim` prints are enough to
// use it: the Autodiscover URL answers for a printed mailbox with the
// printed credentials, over Basic and over NTLM with the DOMAIN\user form.
func TestSimPrintsHowToReachIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr testenv.SyncBuffer
	done := make(chan int)
	go func() {
		done <- simMain(ctx, []string{"--listen", "127.0.0.1:0", "--mailboxes", "2", "--password", "s3cret-pw", "--log-level", "warn"}, pw, &stderr)
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
	for len(lines) < 5 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the banner: %v (got %q; stderr %s)", err, lines, stderr.String())
		}
		k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
		lines[k] = v
	}
	go func() { _, _ = io.Copy(io.Discard, r) }() // the Graph lines follow
	ewsURL, adURL := lines["EWS endpoint"], lines["Autodiscover"]
	wantCreds := `svc-calsync@example.com, password s3cret-pw (also as EXAMPLE\svc-calsync)`
	if got := lines["Credentials (basic, ntlm)"]; got != wantCreds {
		t.Errorf("credentials line = %q, want %q (all lines %q)", got, wantCreds, lines)
	}
	if got := lines["Mailboxes"]; got != "user1@example.com … user2@example.com, each with the same password" {
		t.Errorf("mailboxes line = %q", got)
	}
	if !strings.HasSuffix(lines["Control API"], "/sim/v1/") {
		t.Errorf("control API line = %q", lines["Control API"])
	}
	basic := ewsclient.BasicAuth(http.DefaultClient, "svc-calsync@example.com", "s3cret-pw")
	ntlm, err := ewsclient.NTLMAuth(&http.Transport{}, `EXAMPLE\svc-calsync`, "s3cret-pw")
	if err != nil {
		t.Fatal(err)
	}
	for name, hc := range map[string]ewsclient.HTTPClient{"basic": basic, "ntlm": ntlm} {
		c, err := ewsclient.New(ewsURL, &ewsclient.Options{HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.GetUserSettings(ctx, ewsclient.AutodiscoverRequest{URL: adURL, Mailboxes: []string{"user2@example.com"}})
		if err != nil || len(got) != 1 || got[0].Err != nil {
			t.Errorf("%s: Autodiscover at the printed URL with the printed credentials = %+v, %v", name, got, err)
		}
	}
}

// --clock starts the simulator's clock at an instant; --full-access lets
// an account open the other mailboxes as a delegate (no impersonation).
func TestSimClockAndFullAccess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr testenv.SyncBuffer
	done := make(chan int)
	go func() {
		done <- simMain(ctx, []string{"--listen", "127.0.0.1:0", "--mailboxes", "3", "--auth", "basic", "--password", "pw",
			"--clock", "2027-03-27T20:00:00Z", "--full-access", "user1@example.com"}, pw, &stderr)
		pw.Close()
	}()
	defer func() {
		cancel()
		<-done
	}()
	line, err := firstLine(pr)
	if err != nil {
		t.Fatalf("reading endpoint line: %v (stderr %s)", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	url, _ := strings.CutPrefix(strings.TrimSpace(line), "EWS endpoint: ")
	base := strings.TrimSuffix(url, "/EWS/Exchange.asmx")
	do := func(method, path, user, body string) (int, []byte) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth(user, "pw")
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := do("GET", "/sim/v1/clock", "svc-calsync@example.com", "")
	var clk struct{ Now time.Time }
	want := time.Date(2027, 3, 27, 20, 0, 0, 0, time.UTC)
	if status != 200 || json.Unmarshal(body, &clk) != nil || clk.Now.Before(want) || clk.Now.After(want.Add(time.Minute)) {
		t.Errorf("clock after --clock = %d %s, want %s", status, body, want.Format(time.RFC3339))
	}
	oof := func(as, of string) string {
		_, body := do("POST", "/EWS/Exchange.asmx", as, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header><t:RequestServerVersion Version="Exchange2013_SP1"/></s:Header><s:Body><m:GetUserOofSettingsRequest><t:Mailbox><t:Address>`+of+`</t:Address></t:Mailbox></m:GetUserOofSettingsRequest></s:Body></s:Envelope>`)
		return string(body)
	}
	if b := oof("user1@example.com", "user2@example.com"); !strings.Contains(b, "NoError") {
		t.Errorf("user1 (FullAccess) reading user2's OOF settings: %s", b)
	}
	if b := oof("user3@example.com", "user2@example.com"); !strings.Contains(b, "ErrorAccessDenied") {
		t.Errorf("user3 (no FullAccess) reading user2's OOF settings: %s, want ErrorAccessDenied", b)
	}
}
