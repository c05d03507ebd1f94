package clusterrig

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/pgserver"
	"github.com/calsync/calsync/internal/procgroup"
)

// Instance is one `calsync run` process of the rig. It keeps its id,
// config, port and log file across restarts. Its methods are safe for
// concurrent use.
type Instance struct {
	r       *Rig
	ID      string
	port    int
	config  string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd ended
	paused bool
}

// readyLimit bounds WaitReady when ctx has no deadline: an instance that
// has not opened its API by then is not starting.
const readyLimit = 2 * time.Minute

func newInstance(r *Rig, id string) (*Instance, error) {
	port, err := pgserver.FreePort()
	if err != nil {
		return nil, fmt.Errorf("clusterrig: %w", err)
	}
	in := &Instance{r: r, ID: id, port: port,
		config:  filepath.Join(r.dir, id+".yaml"),
		logPath: filepath.Join(r.dir, id+".log")}
	if err := os.WriteFile(in.config, []byte(r.configYAML(id, port)), 0o600); err != nil {
		return nil, fmt.Errorf("clusterrig: writing %s: %w", in.config, err)
	}
	return in, nil
}

// URL is the instance's API and dashboard, with a trailing slash.
func (in *Instance) URL() string { return fmt.Sprintf("http://127.0.0.1:%d/", in.port) }

// ConfigPath is the instance's config file.
func (in *Instance) ConfigPath() string { return in.config }

// LogPath is the file the instance logs to (every run appends).
func (in *Instance) LogPath() string { return in.logPath }

// Start runs the instance unless it runs already.
func (in *Instance) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd != nil {
		return nil
	}
	logFile, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("clusterrig: %w", err)
	}
	fmt.Fprintf(logFile, "=== clusterrig: starting %s at %s\n", in.ID, time.Now().UTC().Format(time.RFC3339Nano))
	// Not CommandContext: the process lives until Kill, Stop or Close,
	// not as long as the context that started it.
	cmd := exec.Command(in.r.o.Binary, "run", "--config", in.config)
	cmd.Env = in.r.env(os.Environ(), in.ID)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = procgroup.Attr(nil)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("clusterrig: starting %s (%s run): %w", in.ID, in.r.o.Binary, err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(logFile, "=== clusterrig: %s exited at %s: %v\n", in.ID, time.Now().UTC().Format(time.RFC3339Nano), err)
		logFile.Close()
		in.mu.Lock()
		if in.cmd == cmd { // ended by itself or by a signal from outside
			in.cmd, in.paused = nil, false
		}
		in.mu.Unlock()
		close(exited)
	}()
	in.cmd, in.exited, in.paused = cmd, exited, false
	return nil
}

// Running reports whether the process runs (paused counts as running).
func (in *Instance) Running() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cmd != nil
}

// Paused reports whether the process is stopped by Pause.
func (in *Instance) Paused() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.paused
}

// Exited is closed when the current run of the process ends, by any
// cause (nil when it does not run).
func (in *Instance) Exited() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return nil
	}
	return in.exited
}

// PID is the running process's id (0 when it does not run).
func (in *Instance) PID() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return 0
	}
	return in.cmd.Process.Pid
}

// WaitReady waits until the instance answers GET /healthz, failing when
// it exits first or ctx ends (readyLimit without a deadline).
func (in *Instance) WaitReady(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyLimit)
		defer cancel()
	}
	in.mu.Lock()
	exited := in.exited
	in.mu.Unlock()
	if exited == nil {
		return fmt.Errorf("clusterrig: %s is not running", in.ID)
	}
	for {
		if err := in.get(ctx, "healthz", nil); err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("clusterrig: %s exited while starting; its log (%s) ends:\n%s", in.ID, in.logPath, in.LogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("clusterrig: %s did not answer /healthz: %w; its log (%s) ends:\n%s", in.ID, ctx.Err(), in.logPath, in.LogTail(30))
		case <-time.After(50 * time.Millisecond): // polling interval
		}
	}
}

// Kill ends the instance with SIGKILL (no chance to release its leases
// or finish a delivery) and waits until it is gone. Killing an instance
// that does not run does nothing.
func (in *Instance) Kill() {
	in.end(func(p *os.Process) { _ = procgroup.Kill(p) }, 0)
}

// Stop ends the instance with SIGTERM (a clean shutdown: it releases its
// leases) and waits; after 30 s it is killed.
func (in *Instance) Stop() {
	in.end(func(p *os.Process) { _ = p.Signal(os.Interrupt) }, 30*time.Second)
}

func (in *Instance) end(signal func(*os.Process), grace time.Duration) {
	in.mu.Lock()
	cmd, exited, paused := in.cmd, in.exited, in.paused
	in.mu.Unlock()
	if cmd == nil {
		return
	}
	signal(cmd.Process)
	if paused && grace > 0 {
		_ = procgroup.Resume(cmd.Process) // a stopped process cannot act on SIGTERM
	}
	if grace > 0 {
		select {
		case <-exited:
		case <-time.After(grace):
			_ = procgroup.Kill(cmd.Process)
			<-exited
		}
	} else {
		<-exited
	}
}

// Restart kills the instance (SIGKILL) and starts it again with the same
// id, config and port; it does not wait for readiness.
func (in *Instance) Restart(ctx context.Context) error {
	in.Kill()
	return in.Start(ctx)
}

// Pause stops the process (SIGSTOP): it holds its connections and
// leases' memory and does nothing, like a process in a long GC pause.
func (in *Instance) Pause() error { return in.pause(true) }

// Resume continues a paused process (SIGCONT).
func (in *Instance) Resume() error { return in.pause(false) }

func (in *Instance) pause(stop bool) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return fmt.Errorf("clusterrig: %s is not running", in.ID)
	}
	sig := procgroup.Resume
	if stop {
		sig = procgroup.Pause
	}
	if err := sig(in.cmd.Process); err != nil {
		return fmt.Errorf("clusterrig: signalling %s: %w", in.ID, err)
	}
	in.paused = stop
	return nil
}

// statesLine matches one sample of the engine's mailboxes-by-state gauge.
var statesLine = regexp.MustCompile(`^calsync_engine_mailboxes\{state="([a-z_]+)"\} ([0-9.e+]+)$`)

// States reads the instance's engine state counts (the mailboxes it
// syncs itself, by state) from its /metrics.
func (in *Instance) States(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := in.get(ctx, "metrics", func(body io.Reader) error {
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if m := statesLine.FindStringSubmatch(sc.Text()); m != nil {
				v, _ := strconv.ParseFloat(m[2], 64)
				out[m[1]] = int(v)
			}
		}
		return sc.Err()
	})
	return out, err
}

// get fetches path of the instance's API; read (if not nil) reads a 200
// answer's body.
func (in *Instance) get(ctx context.Context, path string, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL()+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", in.ID, path, resp.Status)
	}
	if read == nil {
		return nil
	}
	return read(resp.Body)
}

// LogTail returns the last n lines of the instance's log file.
func (in *Instance) LogTail(n int) string {
	b, err := os.ReadFile(in.logPath)
	if err != nil {
		return err.Error()
	}
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if lines++; lines > n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}
