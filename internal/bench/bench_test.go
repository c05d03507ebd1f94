package bench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as the simulator child, as the calsync
// binary does for `calsync bench -serve-sim`.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" && len(os.Args) > 2 && os.Args[1] == "bench" && os.Args[2] == "-serve-sim" {
		os.Exit(serveSim(context.Background(), os.Args[3:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	r, err := Run(context.Background(), Config{Mailboxes: 40, Servers: 2, Changes: 10, Idle: 200 * time.Millisecond, SimExe: exe, Stderr: &stderr})
	if err != nil {
		t.Fatalf("Run() error = %v\n%s", err, stderr.String())
	}
	if r.InitialLoad <= 0 || r.AllSubscribed <= 0 || r.Samples != 10 {
		t.Errorf("Run() = %+v, want load and subscribe times and 10 delay samples", r)
	}
	if r.Connections > r.MaxConnectionsNeed || r.Connections == 0 {
		t.Errorf("streaming connections = %d, want 1..%d", r.Connections, r.MaxConnectionsNeed)
	}
	var out bytes.Buffer
	WriteTable(&out, []Result{r})
	if !strings.Contains(out.String(), "| 40 mailboxes |") {
		t.Errorf("table lacks the size column:\n%s", out.String())
	}
}

// TestRunSmallOverNTLM: the bench's NTLM path syncs every mailbox with no
// error (the engine would report HTTP401 as a failing mailbox and the load
// would not complete).
func TestRunSmallOverNTLM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	r, err := Run(context.Background(), Config{Mailboxes: 40, Servers: 2, Changes: 5, Idle: 200 * time.Millisecond, SimExe: exe, Stderr: &stderr, Auth: "ntlm"})
	if err != nil {
		t.Fatalf("Run(ntlm) error = %v\n%s", err, stderr.String())
	}
	if r.InitialLoad <= 0 || r.Samples != 5 || r.ThrottlingErrors != 0 {
		t.Errorf("Run(ntlm) = %+v, want a completed load, 5 delay samples and no throttling", r)
	}
}

func TestMainUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"-mailboxes", "ten"}, &out, &errOut); code != 2 {
		t.Errorf("Main(-mailboxes ten) = %d, want 2", code)
	}
	if code := Main(context.Background(), []string{"-auth", "kerberos"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "expected basic or ntlm") {
		t.Errorf("Main(-auth kerberos) = %d, stderr %q; want 2 and the valid choices", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "not a positive number") {
		t.Errorf("stderr = %q, want a precise usage error", errOut.String())
	}
}
