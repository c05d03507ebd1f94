package clusterrig

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/internal/procgroup"
)

// SimAccess is how the instances and the caller reach the simulator.
type SimAccess struct {
	// URL is the simulator's base (http://127.0.0.1:port, no slash).
	URL string
	// Account and Password are the service account's (Basic auth).
	Account, Password string
}

// Control calls the simulator's control API (/sim/v1/…, docs/simulator.md):
// body (if not nil) is sent as JSON, the answer decoded into out (if not
// nil). An answer other than 2xx is an error with the simulator's text.
func (s SimAccess) Control(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/sim/v1/"+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.Account, s.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("simulator %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("simulator %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(text))
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("simulator %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// simProcess is `calsync sim` run by the rig.
type simProcess struct {
	cmd    *exec.Cmd
	log    *os.File
	access SimAccess
	exited chan struct{}
}

// startSim starts `binary sim` on a free loopback port and waits for its
// "EWS endpoint:" line.
func startSim(ctx context.Context, binary, logPath string, mailboxes, servers int, password string, extra []string) (*simProcess, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("clusterrig: %w", err)
	}
	args := append([]string{"sim", "--listen", "127.0.0.1:0", "--mailboxes", strconv.Itoa(mailboxes),
		"--servers", strconv.Itoa(servers), "--password", password, "--auth", "basic", "--log-level", "warn"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.SysProcAttr = procgroup.Attr(nil)
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("clusterrig: %w", err)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("clusterrig: starting the simulator %s: %w", binary, err)
	}
	p := &simProcess{cmd: cmd, log: logFile, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		first := ""
		if sc.Scan() {
			first = sc.Text()
		}
		lines <- first
		_, _ = io.Copy(io.Discard, out) // the rest of the banner
	}()
	var line string
	select {
	case line = <-lines:
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		p.stop()
		return nil, fmt.Errorf("clusterrig: the simulator printed no endpoint within a minute; its log: %s", logPath)
	}
	base, ok := strings.CutPrefix(line, "EWS endpoint: ")
	base, ok2 := strings.CutSuffix(base, "/EWS/Exchange.asmx")
	if !ok || !ok2 {
		p.stop()
		return nil, fmt.Errorf("clusterrig: unexpected first line of the simulator %q; its log: %s", line, logPath)
	}
	p.access = SimAccess{URL: base, Account: "svc-calsync@example.com", Password: password}
	return p, nil
}

// stop ends the simulator (SIGKILL: it keeps nothing worth a clean stop).
func (p *simProcess) stop() {
	_ = procgroup.Kill(p.cmd.Process)
	<-p.exited
	p.log.Close()
}
