package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	exchangelibscript "github.com/calsync/calsync/test/exchangelib"
)

// CompareExchangelib names the one client `-compare` knows.
const CompareExchangelib = "exchangelib"

// CompareBudget is the engine budget of a comparison: exactly concurrency
// requests in flight, no pacing and no adaptation, so that calsync runs
// with the same parallelism as the other client's thread pool.
func CompareBudget(concurrency int) engine.BudgetConfig {
	b, _ := Budget("adaptive", concurrency)
	b.Concurrency, b.PerServer = concurrency, concurrency
	b.RequestsPerSecond = -1
	return b
}

// CompareResult sets calsync's initial load (view every mailbox's calendar,
// subscribe it, stream every subscription) beside exchangelib doing the
// same job against the same simulator process right after, with as many
// requests in flight.
type CompareResult struct {
	Concurrency int
	// calsync: from the engine's start until every mailbox is live and
	// every subscription streamed; the bench process's CPU and peak RSS
	// (VmHWM) over that time; the simulator's request counts.
	Wall, CPU        time.Duration
	PeakRSS          int64
	Requests         map[string]int64
	Connections      int // streaming connections
	ThrottlingErrors int64
	Other            OtherClient
}

// OtherClient is what the other client's process did and cost.
type OtherClient struct {
	Name string
	// Wall is from the end of its imports until every subscription sat
	// on an open streaming connection; CPU and PeakRSS are the whole
	// process's (rusage at exit, ru_maxrss), of which Startup and
	// StartupCPU are the interpreter's start and the imports.
	Wall, CPU, Startup, StartupCPU time.Duration
	PeakRSS                        int64
	Requests                       map[string]int64
	Items, Subscriptions           int
	Connections                    int
	ThrottlingErrors               int64
	Errors                         []string
}

// JobCPU is the CPU of the job alone (without interpreter start and imports).
func (o OtherClient) JobCPU() time.Duration { return o.CPU - o.StartupCPU }

// exchangelibRun is the exchangelib side of a comparison.
type exchangelibRun struct {
	python      string
	simURL      string
	account     string
	password    string
	control     ewsclient.HTTPClient
	concurrency int
	start, end  time.Time
	stderr      io.Writer
}

// benchScriptOutput is bench.py's JSON line.
type benchScriptOutput struct {
	Mailboxes      int      `json:"mailboxes"`
	Items          int      `json:"items"`
	Subscriptions  int      `json:"subscriptions"`
	Connections    int      `json:"connections"`
	StartupSeconds float64  `json:"startup_seconds"`
	StartupCPU     float64  `json:"startup_cpu_seconds"`
	DoneSeconds    float64  `json:"done_seconds"`
	Errors         []string `json:"errors"`
	ErrorCount     int      `json:"error_count"`
}

// run starts bench.py on the simulator's mailboxes and waits for its
// result and its exit.
func (x exchangelibRun) run(ctx context.Context) (OtherClient, error) {
	out := OtherClient{Name: CompareExchangelib}
	dir, err := os.MkdirTemp("", "calsync-bench-exchangelib-")
	if err != nil {
		return out, err
	}
	defer os.RemoveAll(dir)
	var list []struct{ SMTP, Server string }
	if err := control(ctx, x.control, "GET", x.simURL+"/sim/v1/mailboxes", nil, &list); err != nil {
		return out, err
	}
	var lines strings.Builder
	for _, m := range list {
		if m.SMTP != "" && m.Server != "" && !strings.EqualFold(m.SMTP, x.account) {
			fmt.Fprintf(&lines, "%s %s\n", m.SMTP, m.Server)
		}
	}
	script, mbx := filepath.Join(dir, "bench.py"), filepath.Join(dir, "mailboxes.txt")
	if err := os.WriteFile(script, exchangelibscript.BenchScript, 0o600); err != nil {
		return out, err
	}
	if err := os.WriteFile(mbx, []byte(lines.String()), 0o600); err != nil {
		return out, err
	}
	before, err := simStats(ctx, x.control, x.simURL)
	if err != nil {
		return out, err
	}
	const layout = "2006-01-02T15:04:05Z"
	cmd := exec.CommandContext(ctx, x.python, script, "--endpoint", x.simURL+"/EWS/Exchange.asmx",
		"--user", x.account, "--password", x.password, "--auth", "basic", "--mailboxes-file", mbx,
		"--concurrency", strconv.Itoa(x.concurrency), "--start", x.start.UTC().Format(layout), "--end", x.end.UTC().Format(layout))
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(&stderr, x.stderr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return out, err
	}
	if err := cmd.Start(); err != nil {
		return out, fmt.Errorf("bench: start %s (python3-exchangelib; install with apt-get install -y python3-exchangelib): %w", x.python, err)
	}
	line, readErr := bufio.NewReader(stdout).ReadBytes('\n')
	waitErr := cmd.Wait()
	if readErr != nil || waitErr != nil {
		return out, fmt.Errorf("bench: exchangelib side (%s): %w; stderr: %s", x.python, errors.Join(readErr, waitErr), lastLines(stderr.String(), 10))
	}
	var res benchScriptOutput
	if err := json.Unmarshal(line, &res); err != nil {
		return out, fmt.Errorf("bench: exchangelib side printed %q: %w", line, err)
	}
	after, err := simStats(ctx, x.control, x.simURL)
	if err != nil {
		return out, err
	}
	out.Wall = seconds(res.DoneSeconds)
	out.Startup, out.StartupCPU = seconds(res.StartupSeconds), seconds(res.StartupCPU)
	out.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	out.PeakRSS = childPeakRSS(cmd.ProcessState)
	out.Items, out.Subscriptions, out.Connections, out.Errors = res.Items, res.Subscriptions, res.Connections, res.Errors
	out.Requests = diffCounts(after.Requests, before.Requests)
	out.ThrottlingErrors = sumCounts(after.Throttled) - sumCounts(before.Throttled)
	if res.ErrorCount > 0 || res.Subscriptions != res.Mailboxes {
		return out, fmt.Errorf("bench: exchangelib side: %d errors, %d of %d mailboxes streamed; first: %s", res.ErrorCount, res.Subscriptions, res.Mailboxes, strings.Join(res.Errors, "; "))
	}
	return out, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func diffCounts(after, before map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after {
		if v -= before[k]; v != 0 {
			d[k] = v
		}
	}
	return d
}

func sumCounts(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// compareWindow is the engine's default window (a day back, 14 ahead, whole
// days in UTC, the simulator's mailboxes' zone), which bench.py views too.
func compareWindow(now time.Time) (start, end time.Time) {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC), time.Date(y, m, d+15, 0, 0, 0, 0, time.UTC)
}

// compareAfterLoad runs the other client once calsync's load is measured
// and its engine stopped; calsync's figures come from res.
func compareAfterLoad(ctx context.Context, cfg Config, res *Result, cpuLoad time.Duration, sim *simProcess, control ewsclient.HTTPClient, calsync ewssim.Stats) error {
	start, end := compareWindow(time.Now())
	c := &CompareResult{Concurrency: cfg.Budget.Concurrency, Wall: max(res.InitialLoad, res.AllSubscribed), CPU: cpuLoad,
		PeakRSS: res.PeakRSS, Requests: calsync.Requests, Connections: res.Connections, ThrottlingErrors: sumCounts(calsync.Throttled)}
	res.Compare = c
	other, err := exchangelibRun{python: cfg.Python, simURL: sim.url, account: sim.account, password: sim.password, control: control,
		concurrency: c.Concurrency, start: start, end: end, stderr: cfg.Stderr}.run(ctx)
	c.Other = other
	return err
}

func compareRows(row func(string, func(Result) string)) {
	cmp := func(f func(c *CompareResult) string) func(Result) string {
		return func(r Result) string {
			if r.Compare == nil {
				return "—"
			}
			return f(r.Compare)
		}
	}
	ratio := func(a, b float64) string {
		if a <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f×", b/a)
	}
	row("vs exchangelib: requests in flight (each side)", cmp(func(c *CompareResult) string { return strconv.Itoa(c.Concurrency) }))
	row("vs exchangelib: requests, calsync / exchangelib", cmp(func(c *CompareResult) string {
		return fmt.Sprintf("%s / %s", fmtMap(c.Requests), fmtMap(c.Other.Requests))
	}))
	row("vs exchangelib: streaming connections, calsync / exchangelib (occurrences exchangelib read)", cmp(func(c *CompareResult) string {
		return fmt.Sprintf("%d / %d (%d)", c.Connections, c.Other.Connections, c.Other.Items)
	}))
	row("vs exchangelib: wall time to all viewed and streamed, calsync / exchangelib (exchangelib ÷ calsync)", cmp(func(c *CompareResult) string {
		return fmt.Sprintf("%s / %s (%s)", c.Wall.Round(10*time.Millisecond), c.Other.Wall.Round(10*time.Millisecond), ratio(c.Wall.Seconds(), c.Other.Wall.Seconds()))
	}))
	row("vs exchangelib: client CPU of the job, calsync / exchangelib (exchangelib ÷ calsync)", cmp(func(c *CompareResult) string {
		return fmt.Sprintf("%s / %s (%s)", c.CPU.Round(10*time.Millisecond), c.Other.JobCPU().Round(10*time.Millisecond), ratio(c.CPU.Seconds(), c.Other.JobCPU().Seconds()))
	}))
	row("vs exchangelib: client peak RSS, calsync / exchangelib (exchangelib ÷ calsync)", cmp(func(c *CompareResult) string {
		return fmt.Sprintf("%.1f / %.1f MiB (%s)", float64(c.PeakRSS)/(1<<20), float64(c.Other.PeakRSS)/(1<<20), ratio(float64(c.PeakRSS), float64(c.Other.PeakRSS)))
	}))
	row("vs exchangelib: exchangelib's interpreter start and imports (not in the rows above)", cmp(func(c *CompareResult) string {
		return fmt.Sprintf("%s wall, %s CPU", c.Other.Startup.Round(10*time.Millisecond), c.Other.StartupCPU.Round(10*time.Millisecond))
	}))
	row("vs exchangelib: throttling errors, calsync / exchangelib", cmp(func(c *CompareResult) string {
		return fmt.Sprintf("%d / %d", c.ThrottlingErrors, c.Other.ThrottlingErrors)
	}))
}
