package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/calsync/calsync/app"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// demoOptions are the flags of `calsync demo`.
type demoOptions struct {
	listen    string
	mailboxes int
	servers   int
	churn     float64
	meetEvery time.Duration
	mode      string
	seed      uint64
	dataDir   string
	logLevel  string
	hybrid    bool // demo_hybrid.go
	sip       bool
	cluster   int // demo_cluster.go
}

// runDemo runs the simulator, the sync service and the dashboard in one
// process: a newcomer sees calsync work without an Exchange server.
func runDemo(ctx context.Context, env Env, args []string) int {
	var o demoOptions
	fs := newFlagSet("demo", "demo [flags]", env.Stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the dashboard and API (host:port; port 0 picks a free one; with --cluster each instance gets a free port)")
	fs.IntVar(&o.mailboxes, "mailboxes", 200, "number of simulated mailboxes (user1@example.com …)")
	fs.IntVar(&o.servers, "servers", 2, "number of simulated mailbox servers (affinity groups)")
	fs.Float64Var(&o.churn, "churn", 2, "random calendar changes per second in the simulator")
	fs.DurationVar(&o.meetEvery, "meeting-every", 5*time.Second, "how often an ad-hoc meeting starting right now is booked for a random user (0 disables)")
	fs.StringVar(&o.mode, "mode", "streaming", "notification mode: streaming or pull")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated calendars")
	fs.StringVar(&o.dataDir, "data-dir", "", "folder for the demo's store (default: a temporary folder removed at exit)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.BoolVar(&o.hybrid, "hybrid", false, "a hybrid organisation: the last quarter of the mailboxes in Exchange Online (served over Graph), one mailbox moved between the sides every 30 s; the dashboard marks where each lives")
	fs.BoolVar(&o.sip, "sip", false, "also start a local Kamailio presence server (when installed), publish presence to it over SIP and show a watcher's view")
	fs.IntVar(&o.cluster, "cluster", 0, "run this many calsync instances (processes) on a throwaway PostgreSQL instead of one, to show a failover (needs PostgreSQL installed)")
	if code := fs.parse(args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return fs.fail("unexpected argument %q", fs.Arg(0))
	}
	if o.cluster != 0 {
		if err := checkDemoCluster(o.cluster); err != nil {
			return fs.fail("%v", err)
		}
	}
	if o.mode != "streaming" && o.mode != "pull" {
		return fs.fail("--mode %q: want streaming or pull", o.mode)
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return fs.fail("--listen %q: want host:port (port 0 picks a free one)", o.listen)
	}
	if o.mailboxes < 1 || o.mailboxes > 20000 {
		return fs.fail("--mailboxes %d: want 1 to 20000", o.mailboxes)
	}
	if o.servers < 1 || o.servers > 100 {
		return fs.fail("--servers %d: want 1 to 100", o.servers)
	}
	logger, err := newLogger(env.Stderr, o.logLevel, "text")
	if err != nil {
		return fs.fail("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	if err := demo(ctx, env, logger, o); err != nil {
		fmt.Fprintf(env.Stderr, "calsync demo: %v\n", err)
		return 1
	}
	return 0
}

func demo(ctx context.Context, env Env, logger *slog.Logger, o demoOptions) error {
	password, err := randomPassword()
	if err != nil {
		return err
	}
	const domain = "example.com"
	serviceAccount := "svc-calsync@" + domain
	simOpts := ewssim.Options{Generate: true, Options: ewsmem.Options{
		Logger: logger.With("component", "simulator"), Domain: domain, Mailboxes: o.mailboxes,
		Servers: o.servers, Seed: o.seed, ServiceAccount: serviceAccount, Password: password,
	},
		Basic: true,
	}
	sim, handler, hsim, err := demoSimulator(simOpts, o, password)
	if err != nil {
		return fmt.Errorf("starting the simulator: %w", err)
	}
	defer func() {
		if hsim != nil {
			hsim.Close()
			return
		}
		sim.Close()
	}()
	simListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for the simulator: %w", err)
	}
	simServer := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simServer.Serve(simListener) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = simServer.Shutdown(sctx)
	}()
	simURL := "http://" + simListener.Addr().String()
	if o.cluster > 0 {
		return demoClusterOn(ctx, env, logger, o, sim, simAccess{base: simURL, account: serviceAccount, password: password, auth: []string{"basic"}, domain: domain, users: o.mailboxes})
	}

	dataDir := o.dataDir
	if dataDir == "" {
		dataDir, err = os.MkdirTemp("", "calsync-demo-")
		if err != nil {
			return fmt.Errorf("creating a temporary folder: %w", err)
		}
		defer os.RemoveAll(dataDir)
	}

	cfg := config.Defaults()
	cfg.File = "(demo)"
	cfg.Exchange.EWSURL = simURL + "/EWS/Exchange.asmx"
	cfg.Exchange.AutodiscoverURL = simURL + "/autodiscover/autodiscover.svc"
	cfg.Exchange.Auth = config.Auth{Method: config.AuthBasic, Username: serviceAccount, Password: config.NewSecret(password, "generated")}
	cfg.Exchange.Notifications.Mode = config.NotificationMode(o.mode)
	cfg.Exchange.Notifications.PullInterval = 5 * time.Second
	cfg.Exchange.Notifications.CoalesceDelay = 500 * time.Millisecond
	if hsim != nil {
		cfg.ExchangeOnline = demoExchangeOnline(simURL, password)
	}
	cfg.Store.Path = filepath.Join(dataDir, "calsync.db")
	cfg.API.Listen = o.listen
	for i := 1; i <= o.mailboxes; i++ {
		cfg.Users.Static = append(cfg.Users.Static, fmt.Sprintf("user%d@%s", i, domain))
	}

	if o.sip {
		stopSIP, err := startDemoSIP(ctx, env.Stdout, cfg, domain)
		if err != nil {
			return err
		}
		defer stopSIP()
	}
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: logger})
	var listenErr *app.ListenError
	if errors.As(err, &listenErr) {
		return fmt.Errorf("cannot listen on %s for the dashboard: %w\nthe demo can listen elsewhere: calsync demo -listen 127.0.0.1:0 (picks a free port)", listenErr.Addr, listenErr.Err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "calsync demo: %d simulated mailboxes on %d servers, %s notifications, %.1f changes/s\n", o.mailboxes, o.servers, o.mode, o.churn)
	simAccess{base: simURL, account: serviceAccount, password: password, auth: []string{"basic"}, domain: domain, users: o.mailboxes}.write(env.Stdout, "EWS simulator")
	if hsim != nil {
		fmt.Fprintf(env.Stdout, "Hybrid: %d mailboxes in Exchange Online (Graph endpoint: %s/v1.0, token endpoint: %s/%s/oauth2/v2.0/token), one moved every %s\n",
			len(hsim.CloudMailboxes()), simURL, simURL, demoTenant, demoMoveEvery)
	}
	fmt.Fprintf(env.Stdout, "Dashboard: %s\n", a.URL())
	fmt.Fprintf(env.Stdout, "API: %sapi/v1/users   events: %sapi/v1/events   metrics: %smetrics\n", a.URL(), a.URL(), a.URL())
	fmt.Fprintln(env.Stdout, "Press Ctrl+C to stop.")

	if o.churn > 0 {
		if err := sim.StartChurn(o.churn, o.seed); err != nil {
			return err
		}
		defer sim.StopChurn()
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.meetEvery > 0 {
		go bookAdHocMeetings(runCtx, sim.Exchange, cfg.Users.Static, o.meetEvery, o.seed, logger)
	}
	if hsim != nil {
		go moveMailboxes(runCtx, hsim, cfg.Users.Static, o.seed, logger)
	}
	go reportProgress(runCtx, env, a.Engine(), o.mailboxes)
	return runAppErr(runCtx, a)
}

func runAppErr(ctx context.Context, a *app.App) error {
	err := a.Run(ctx, nil)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// bookAdHocMeetings books, every interval, a short meeting that starts now
// for a random user, through the simulator's EWS write path, so presence
// changes visibly within a minute of starting the demo.
func bookAdHocMeetings(ctx context.Context, x *ewsmem.Exchange, users []string, every time.Duration, seed uint64, logger *slog.Logger) {
	rng := mrand.New(mrand.NewPCG(seed, seed^0xdead))
	statuses := []ews.FreeBusyStatus{ews.FreeBusyBusy, ews.FreeBusyBusy, ews.FreeBusyTentative, ews.FreeBusyOOF, ews.FreeBusyWorkingElsewhere}
	subjects := []string{"Quick sync", "Customer call", "Incident review", "1:1", "Design review", "Coffee chat"}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		user := users[rng.IntN(len(users))]
		start := time.Now().UTC().Truncate(time.Second)
		end := start.Add(time.Duration(2+rng.IntN(9)) * time.Minute)
		item := ews.CalendarItem{Subject: subjects[rng.IntN(len(subjects))], Start: start, End: end, IsMeeting: true,
			LegacyFreeBusyStatus: statuses[rng.IntN(len(statuses))], Location: "Room " + fmt.Sprint(100+rng.IntN(50))}
		if _, err := x.AddCalendarItem(user, item); err != nil {
			logger.Warn("demo: booking an ad-hoc meeting failed", "user", user, "err", err)
		}
	}
}

// reportProgress prints how many mailboxes are synced until all are. A
// mailbox re-reading after a change (resyncing) was synced before and
// counts: with the demo's churn many are re-reading at any moment, and a
// count of "live" alone would wander instead of reaching the total.
func reportProgress(ctx context.Context, env Env, e *engine.Engine, total int) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	last := -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		counts := e.StateCounts()
		synced := counts[engine.StateLive] + counts[engine.StateResyncing]
		if synced != last {
			fmt.Fprintf(env.Stdout, "sync: %d/%d mailboxes synced\n", synced, total)
			last = synced
		}
		if synced >= total {
			return
		}
	}
}

func randomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating the demo password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
