package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// childEnv marks the simulator child process.
const childEnv = "CALSYNC_BENCH_SIMULATOR"

// ServeSim runs the simulator child (`calsync bench -serve-sim`): it builds the organisation, listens on
// a loopback port, prints "LISTEN <url> <account> <password>" and serves
// until ctx ends or its stdin closes (the parent died).
func ServeSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench -serve-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mailboxes := fs.Int("mailboxes", 1000, "mailboxes to simulate")
	servers := fs.Int("servers", 4, "simulated mailbox servers")
	ntlm := fs.Bool("ntlm", false, "accept NTLM as well as Basic")
	queue := fs.Int("queue-limit", 0, "HTTP 503 above this many requests in flight server-wide (0: off)")
	graphFace := fs.Bool("graph", false, "host every user mailbox in the cloud and serve Graph as well (graph.go)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	policy := ewsmem.DefaultPolicy()
	// As Exchange: the service account's own budget caps its requests in
	// flight (27) across all impersonated mailboxes.
	policy.AccountConcurrency = true
	if *queue > 0 {
		policy.GlobalQueueLimit = *queue
	}
	opts := ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: *mailboxes, Servers: *servers, Seed: 1, Policy: &policy}, Basic: true, NTLM: *ntlm}
	var sim servedSim
	var err error
	if *graphFace {
		sim, err = newCloudSim(opts)
	} else {
		sim, err = ewssim.New(opts)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: simulator: %v\n", err)
		return 1
	}
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "bench: listen: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	name, password, _ := sim.Password(sim.ServiceAccount())
	fmt.Fprintf(stdout, "LISTEN http://%s %s %s\n", ln.Addr(), name, password)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the child's own lifetime: end when the parent closes stdin
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "bench: serve: %v\n", err)
		return 1
	}
	return 0
}

// servedSim is what the child serves: the EWS simulator, or it with its
// Graph face (graph.go).
type servedSim interface {
	http.Handler
	Close()
	ServiceAccount() string
	Password(user string) (name, password string, ok bool)
}

// simProcess is a running simulator child.
type simProcess struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	url      string
	account  string
	password string
}

// startSim starts `<exe> bench -serve-sim …` and waits for its address.
// extra are more flags of the child (-graph).
func startSim(ctx context.Context, exe string, mailboxes, servers int, ntlm bool, queueLimit int, stderr io.Writer, extra ...string) (*simProcess, error) {
	args := []string{"bench", "-serve-sim", "-mailboxes", strconv.Itoa(mailboxes), "-servers", strconv.Itoa(servers), "-ntlm=" + strconv.FormatBool(ntlm), "-queue-limit", strconv.Itoa(queueLimit)}
	cmd := exec.CommandContext(ctx, exe, append(args, extra...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start simulator %s: %w", exe, err)
	}
	p := &simProcess{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("bench: simulator did not report its address: %w", err)
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "LISTEN" {
		p.stop()
		return nil, fmt.Errorf("bench: unexpected simulator output %q", line)
	}
	p.url, p.account, p.password = f[1], f[2], f[3]
	return p, nil
}

func (p *simProcess) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// controlClient returns a client of the simulator's control API
// (/sim/v1/, always Basic) with up to maxConns connections.
func (s *simProcess) controlClient(maxConns int) (ewsclient.HTTPClient, error) {
	transport, err := ewsclient.NewTransport(&ewsclient.TransportOptions{MaxConnsPerHost: maxConns, MaxIdleConnsPerHost: 64})
	if err != nil {
		return nil, err
	}
	return ewsclient.BasicAuth(&http.Client{Transport: transport}, s.account, s.password), nil
}
