// `calsync demo --cluster N`: the demo's simulator synced by N calsync
// instances on a throwaway PostgreSQL (internal/clusterrig), each a
// `calsync run` process of this very binary, so that killing one shows a
// failover on the dashboard.

package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/internal/pgserver"
)

// demoLeaseTTL is the demo cluster's cluster.lease_ttl: short, so that a
// killed instance's mailboxes move within seconds, with room for a busy
// laptop's database round trips.
const demoLeaseTTL = 5 * time.Second

// demoExecutable is the calsync binary the instances run: this one (a
// test swaps in a built calsync).
var demoExecutable = os.Executable

// demoClusterMax bounds --cluster: each instance is a process.
const demoClusterMax = 9

// checkDemoCluster says why --cluster cannot run here, with the install
// hint when PostgreSQL is missing.
func checkDemoCluster(n int) error {
	if n < 1 || n > demoClusterMax {
		return fmt.Errorf("--cluster %d: want 1 to %d instances", n, demoClusterMax)
	}
	if _, err := pgserver.Binaries(); err != nil {
		return fmt.Errorf("--cluster needs PostgreSQL's server binaries (%w); install with: %s (Debian, Ubuntu), brew install postgresql (macOS)", err, pgserver.Install)
	}
	return nil
}

// demoCluster runs the instances on the demo's simulator until ctx ends.
func demoCluster(ctx context.Context, env Env, logger *slog.Logger, o demoOptions, sim clusterrig.SimAccess) error {
	exe, err := demoExecutable()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "calsync demo: starting PostgreSQL and %d calsync instances …\n", o.cluster)
	r, err := clusterrig.Start(ctx, clusterrig.Options{Binary: exe, Instances: o.cluster, Mailboxes: o.mailboxes,
		Servers: o.servers, LeaseTTL: demoLeaseTTL, Sim: &sim, Dir: o.dataDir,
		Instance: clusterrig.InstanceConfig{CoalesceDelay: 500 * time.Millisecond, LogLevel: o.logLevel}})
	if err != nil {
		return err
	}
	defer r.Close()
	writeDemoCluster(env.Stdout, r, o)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go reportClusterProgress(runCtx, env.Stdout, r, o.mailboxes)
	for _, in := range r.Instances() {
		go watchFailover(runCtx, env.Stdout, r, in, o.mailboxes, logger)
	}
	<-ctx.Done()
	return nil
}

// writeDemoCluster prints where everything is and how to see a failover.
func writeDemoCluster(w io.Writer, r *clusterrig.Rig, o demoOptions) {
	ins := r.Instances()
	fmt.Fprintf(w, "calsync demo: %d simulated mailboxes on %d servers, %d instances on PostgreSQL (lease TTL %s), %.1f changes/s\n",
		o.mailboxes, o.servers, len(ins), demoLeaseTTL, o.churn)
	for _, in := range ins {
		fmt.Fprintf(w, "Instance %s: %s (pid %d, config %s, log %s)\n", in.ID, in.URL(), in.PID(), in.ConfigPath(), in.LogPath())
	}
	fmt.Fprintf(w, "Dashboard: %s (any instance shows every mailbox)\n", ins[0].URL())
	if len(ins) > 1 {
		last := ins[len(ins)-1]
		fmt.Fprintf(w, "To see a failover, kill an instance: kill -9 %d   (%s; its mailboxes move to the others within %s)\n", last.PID(), last.ID, demoLeaseTTL)
	}
	fmt.Fprintln(w, "Press Ctrl+C to stop.")
}

// reportClusterProgress prints how many mailboxes the cluster synced
// until all are.
func reportClusterProgress(ctx context.Context, w io.Writer, r *clusterrig.Rig, total int) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	last := -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		synced, ok := clusterSynced(ctx, r)
		if !ok || synced == last {
			continue
		}
		fmt.Fprintf(w, "sync: %d/%d mailboxes synced\n", synced, total)
		last = synced
		if synced >= total {
			return
		}
	}
}

// clusterSynced counts the mailboxes the running instances have synced
// (live or re-reading after a change).
func clusterSynced(ctx context.Context, r *clusterrig.Rig) (int, bool) {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := r.States(sctx)
	if err != nil {
		return 0, false
	}
	return s[engine.StateLive] + s[engine.StateResyncing], true
}

// watchFailover tells when in ends (the user killed it) and when the
// others synced every mailbox again.
func watchFailover(ctx context.Context, w io.Writer, r *clusterrig.Rig, in *clusterrig.Instance, total int, logger *slog.Logger) {
	exited := in.Exited()
	if exited == nil {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-exited:
	}
	stopped := time.Now()
	fmt.Fprintf(w, "%s stopped at %s; the others take its mailboxes after the lease TTL (%s) — watch the dashboard of a surviving instance\n",
		in.ID, stopped.Format("15:04:05"), demoLeaseTTL)
	var alive []string
	for _, other := range r.Instances() {
		if other != in && other.Running() {
			alive = append(alive, other.URL())
		}
	}
	if len(alive) == 0 {
		fmt.Fprintln(w, "no instance is left; press Ctrl+C to stop")
		return
	}
	fmt.Fprintf(w, "Dashboards still up: %s\n", strings.Join(alive, " "))
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, ok := clusterSynced(ctx, r); ok && n >= total {
			fmt.Fprintf(w, "failover: all %d mailboxes synced again %s after %s stopped\n", total, time.Since(stopped).Round(100*time.Millisecond), in.ID)
			logger.Info("demo: failover done", "instance", in.ID)
			return
		}
	}
}

// demoClusterOn starts the demo's activity on the simulator and runs the
// cluster on it.
func demoClusterOn(ctx context.Context, env Env, logger *slog.Logger, o demoOptions, sim *ewssim.Simulator, access simAccess) error {
	access.write(env.Stdout, "EWS simulator")
	if o.churn > 0 {
		if err := sim.StartChurn(o.churn, o.seed); err != nil {
			return err
		}
		defer sim.StopChurn()
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.meetEvery > 0 {
		users := make([]string, o.mailboxes)
		for i := range users {
			users[i] = fmt.Sprintf("user%d@%s", i+1, access.domain)
		}
		go bookAdHocMeetings(runCtx, sim.Exchange, users, o.meetEvery, o.seed, logger)
	}
	return demoCluster(runCtx, env, logger, o, clusterrig.SimAccess{URL: access.base, Account: access.account, Password: access.password})
}
