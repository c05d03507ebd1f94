// Package clusterrig runs a calsync cluster from real processes on one
// machine: a throwaway PostgreSQL (internal/pgserver), the Exchange
// simulator as its own process (`calsync sim`, or one the caller already
// serves) and N `calsync run` instances of a given binary, each with a
// generated config file (store.postgres through url_env,
// cluster.instance_id, cluster.lease_ttl, its own loopback API port,
// the webhook target). It breaks them the way production breaks:
// SIGKILL, SIGSTOP/SIGCONT, restarts, a PostgreSQL restart.
//
// The cluster chaos test (test/clusterchaos), `calsync bench -cluster`
// and `calsync demo --cluster` build on it. Every process runs in a
// process group of its own that dies with the caller on Linux, and Close
// ends them all, so a failed test leaves nothing running.
package clusterrig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/pgserver"
)

// Options describe the cluster. Binary is required.
type Options struct {
	// Binary is the calsync executable the instances (and, without Sim,
	// the simulator) run.
	Binary string
	// Instances is how many `calsync run` processes (default 3).
	Instances int
	// Mailboxes is how many simulated users the cluster syncs
	// (user1@example.com …; default 30). With Sim, the simulator's.
	Mailboxes int
	// Servers is the simulated mailbox servers (affinity groups; default 3).
	Servers int
	// LeaseTTL is cluster.lease_ttl (default 3s, the config's minimum).
	LeaseTTL time.Duration
	// SimArgs are more `calsync sim` flags (--heartbeat, --churn, --seed).
	SimArgs []string
	// Sim is a simulator the caller already serves; nil starts
	// `Binary sim` as a process of its own.
	Sim *SimAccess
	// Webhook, when set, is every instance's one webhook endpoint.
	Webhook *Webhook
	// Instance tunes each instance's config.
	Instance InstanceConfig
	// BeforeInstances, when set, runs once the database exists and
	// before any instance starts (a test installs its audit there).
	BeforeInstances func(ctx context.Context, databaseURL string) error
	// Dir holds the config files and the processes' logs; empty: a temp
	// folder removed by Close.
	Dir string
}

// Webhook is the instances' webhook endpoint.
type Webhook struct {
	URL     string
	Secret  string        // at least 16 characters
	Events  []string      // empty: every event type
	Timeout time.Duration // default 5s
}

// Rig is a running cluster. Create it with Start; Close ends it.
type Rig struct {
	o      Options
	dir    string
	ownDir bool
	pg     *pgserver.Server
	dbURL  string
	sim    *simProcess // nil when the caller serves the simulator
	access SimAccess
	users  []string

	mu        sync.Mutex
	instances []*Instance
}

// Start starts PostgreSQL, the simulator (unless o.Sim) and
// o.Instances instances, and waits until every instance answers its API.
// The caller must Close the rig, also when Start fails after a while:
// Start cleans up what it started itself before returning an error.
func Start(ctx context.Context, o Options) (r *Rig, err error) {
	if o.Binary == "" {
		return nil, errors.New("clusterrig: Options.Binary (the calsync executable) is required")
	}
	if o.Instances <= 0 {
		o.Instances = 3
	}
	if o.Mailboxes <= 0 {
		o.Mailboxes = 30
	}
	if o.Servers <= 0 {
		o.Servers = 3
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 3 * time.Second
	}
	bin, err := pgserver.Binaries()
	if err != nil {
		return nil, &MissingError{What: err.Error(), Install: pgserver.Install}
	}
	r = &Rig{o: o, dir: o.Dir}
	defer func() {
		if err != nil {
			r.Close()
			r = nil
		}
	}()
	if r.dir == "" {
		if r.dir, err = os.MkdirTemp("", "calsync-rig-"); err != nil {
			return r, fmt.Errorf("clusterrig: %w", err)
		}
		r.ownDir = true
	}
	if r.pg, err = pgserver.Start(bin); err != nil {
		return r, fmt.Errorf("clusterrig: PostgreSQL: %w", err)
	}
	if r.dbURL, err = r.pg.CreateDatabase(ctx, "calsync"); err != nil {
		return r, fmt.Errorf("clusterrig: %w", err)
	}
	if o.Sim != nil {
		r.access = *o.Sim
	} else {
		password, err := randomSecret()
		if err != nil {
			return r, err
		}
		if r.sim, err = startSim(ctx, o.Binary, filepath.Join(r.dir, "sim.log"), o.Mailboxes, o.Servers, password, o.SimArgs); err != nil {
			return r, err
		}
		r.access = r.sim.access
	}
	for i := 1; i <= o.Mailboxes; i++ {
		r.users = append(r.users, fmt.Sprintf("user%d@example.com", i))
	}
	if o.BeforeInstances != nil {
		if err := o.BeforeInstances(ctx, r.dbURL); err != nil {
			return r, fmt.Errorf("clusterrig: before the instances: %w", err)
		}
	}
	for i := range o.Instances {
		if _, err := r.AddInstance(ctx, fmt.Sprintf("calsync-%c", 'a'+i)); err != nil {
			return r, err
		}
	}
	for _, in := range r.Instances() {
		if err := in.WaitReady(ctx); err != nil {
			return r, err
		}
	}
	return r, nil
}

// AddInstance writes the config of a new instance id, starts it and
// returns without waiting for it (WaitReady).
func (r *Rig) AddInstance(ctx context.Context, id string) (*Instance, error) {
	in, err := newInstance(r, id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.instances = append(r.instances, in)
	r.mu.Unlock()
	return in, in.Start(ctx)
}

// Instances returns the rig's instances (running or not), in start order.
func (r *Rig) Instances() []*Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Instance(nil), r.instances...)
}

// Users are the mailboxes the cluster syncs.
func (r *Rig) Users() []string { return append([]string(nil), r.users...) }

// DatabaseURL is the cluster's database (for a test's own pgstore.Open).
func (r *Rig) DatabaseURL() string { return r.dbURL }

// Sim is how to reach the simulator (EWS, control API).
func (r *Rig) Sim() SimAccess { return r.access }

// Dir is the folder of the configs and logs.
func (r *Rig) Dir() string { return r.dir }

// RestartPostgres shuts PostgreSQL down (every connection cut) and
// starts it again on the same port and data.
func (r *Rig) RestartPostgres() error {
	if err := r.pg.Restart(); err != nil {
		return fmt.Errorf("clusterrig: restarting PostgreSQL: %w", err)
	}
	return nil
}

// PostgresLog is PostgreSQL's recent output.
func (r *Rig) PostgresLog() string { return r.pg.Log() }

// Close kills every instance and the simulator, stops PostgreSQL and
// removes the rig's own temp folder. It is safe to call more than once.
func (r *Rig) Close() {
	for _, in := range r.Instances() {
		in.Kill()
	}
	if r.sim != nil {
		r.sim.stop()
	}
	if r.pg != nil {
		r.pg.Stop()
	}
	if r.ownDir {
		_ = os.RemoveAll(r.dir)
	}
}

// MissingError says that PostgreSQL's server binaries are not installed.
type MissingError struct {
	What, Install string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("clusterrig: %s missing; install with: %s", e.What, e.Install)
}

func randomSecret() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("clusterrig: generating a password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// States sums the engine state counts of every running instance that is
// not paused (Instance.States): a mailbox counts once per instance that
// syncs it. An instance that does not answer is an error.
func (r *Rig) States(ctx context.Context) (map[string]int, error) {
	sum := map[string]int{}
	for _, in := range r.Instances() {
		if !in.Running() || in.Paused() {
			continue
		}
		st, err := in.States(ctx)
		if err != nil {
			return nil, err
		}
		for k, v := range st {
			sum[k] += v
		}
	}
	return sum, nil
}
