// Package cluster shares the mailboxes between calsync instances on one
// PostgreSQL database (issue 14). Each instance runs a Coordinator: it
// registers the instance with a heartbeat, computes from the shared state
// which mailboxes it should own (Assign: affinity groups kept together,
// rebalanced when instances join or leave), takes them through leases,
// renews its leases every third of their TTL, gives up the ones assigned
// elsewhere, and tells the instance (Options.Apply) the set it owns; the
// engine and the presence scheduler only ever see that set.
//
// At most one owner at any instant: a mailbox has one lease row, granted
// to another instance only after it expired on the database's clock. An
// instance stops using its mailboxes when its own deadline (the start of
// its last successful renewal plus the TTL, on its own clock, which only
// measures durations here) passes without a renewal; and every write of
// an owner is fenced by its lease epoch (pgstore.Store.Fenced), so an
// instance that was paused past its lease cannot overwrite its
// successor's data.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calsync/calsync/store/pgstore"
)

// Leases is what the coordinator needs of the database (*pgstore.Store).
type Leases interface {
	Heartbeat(ctx context.Context, id, apiURL string, ttl, skew time.Duration) (pgstore.Members, error)
	Deregister(ctx context.Context, id string) error
	Placements(ctx context.Context, smtps []string) ([]pgstore.Placement, error)
	AcquireLeases(ctx context.Context, owner string, smtps []string) (map[string]int64, error)
	HeldLeases(ctx context.Context, owner string) (map[string]int64, error)
	ReleaseLeases(ctx context.Context, owner string, smtps []string) error
	SaveGroups(ctx context.Context, groups map[string]string) error
	ClockSkew(ctx context.Context, now func() time.Time) (skew, roundTrip time.Duration, err error)
}

// Options configure a Coordinator. Leases, ID and Apply are required.
type Options struct {
	Leases Leases
	// ID names this instance (config cluster.instance_id).
	ID string
	// APIURL is where the other instances reach this instance's API
	// (registered with each heartbeat; they forward writes for its users).
	// SetAPIURL sets it once the listener is known.
	APIURL string
	// TTL is the lease duration (config cluster.lease_ttl, default 15s).
	TTL time.Duration
	// UnitSize is how many mailboxes of one affinity group are placed
	// together: one streaming connection's worth (engine GroupSize, 200).
	UnitSize int
	// Apply is told the mailboxes this instance owns after every change;
	// it must have stopped using the ones left out when it returns (the
	// engine's SetMailboxes waits for their workers). Calls never overlap.
	Apply func(owned []string)
	// Discover, when set, looks up the affinity groups of mailboxes (smtp
	// → group key as the engine stores it; "" for no answer) with batched
	// Autodiscover: mailboxes nobody synced yet are then placed once, with
	// their group (learn.go), instead of alone first. A request that
	// failed leaves its mailboxes out of the map and returns an error.
	Discover func(ctx context.Context, smtps []string) (map[string]string, error)
	Logger   *slog.Logger
}

// Coordinator runs this instance's part of the cluster. Create it with New.
type Coordinator struct {
	o   Options
	log *slog.Logger

	mu     sync.Mutex
	wanted map[string]bool  // every configured mailbox, cluster-wide
	epochs map[string]int64 // leases held, with their epochs
	owned  []string         // what Apply was last told, sorted
	apiURL string
	// renewedTime is the start of the last successful renewal: the leases
	// last at least until it plus the TTL.
	renewedTime time.Time
	skew        atomic.Int64 // this clock minus the database's, ns
	// applyMu keeps Apply calls from overlapping (round and dropAll).
	applyMu sync.Mutex
	wake    chan struct{}
	// Used by the rounds only: when this instance first registered, and
	// since when each mailbox waiting for its group has (learn.go).
	joined       time.Time
	waitingSince map[string]time.Time
}

// New checks o and returns a coordinator that owns nothing until Run.
func New(o Options) (*Coordinator, error) {
	if o.Leases == nil || o.ID == "" || o.Apply == nil {
		return nil, errors.New("cluster: Options.Leases, ID and Apply are required")
	}
	if o.TTL <= 0 {
		o.TTL = 15 * time.Second
	}
	if o.UnitSize <= 0 {
		o.UnitSize = 200
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Coordinator{o: o, log: o.Logger, apiURL: o.APIURL, wanted: map[string]bool{}, epochs: map[string]int64{}, wake: make(chan struct{}, 1)}, nil
}

// SetAPIURL sets the URL registered with the next heartbeat.
func (c *Coordinator) SetAPIURL(u string) {
	c.mu.Lock()
	c.apiURL = u
	c.mu.Unlock()
}

// SetMailboxes sets the mailboxes the whole cluster syncs (every instance
// reads the same users sources); the next round places them.
func (c *Coordinator) SetMailboxes(smtps []string) {
	want := make(map[string]bool, len(smtps))
	for _, s := range smtps {
		want[s] = true
	}
	c.mu.Lock()
	c.wanted = want
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Wanted reports whether the cluster still syncs smtp (a mailbox handed
// to another instance is wanted; one taken out of the users is not).
func (c *Coordinator) Wanted(smtp string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wanted[smtp]
}

// Epoch is the lease epoch this instance holds on smtp, the fencing token
// of its writes (pgstore.Epochs).
func (c *Coordinator) Epoch(smtp string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.epochs[smtp]
	return e, ok
}

// Owned returns the mailboxes this instance owns now, sorted.
func (c *Coordinator) Owned() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.owned)
}

// Run takes part in the cluster until ctx ends; then it gives up every
// lease and deregisters, so that the others take over at once. A database
// outage is retried; past this instance's lease deadline it owns nothing
// until it renews again.
//
// Two loops: the keeper renews the leases every third of the TTL and
// enforces the deadline; the rounds move mailboxes. They are separate
// because a round waits for Apply, and stopping many mailboxes' workers
// can take longer than a lease lasts: the leases of the mailboxes this
// instance rightly keeps must not expire meanwhile.
func (c *Coordinator) Run(ctx context.Context) error {
	period := c.o.TTL / 3
	var wg sync.WaitGroup
	defer c.leave()
	defer wg.Wait()
	wg.Go(func() { c.keep(ctx, period) })
	next := time.NewTimer(0)
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		case <-next.C:
		}
		start := time.Now()
		again, err := c.round(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.log.Warn("cluster round failed; retrying", "err", err, "owned", len(c.Owned()))
			next.Reset(period / 3)
			continue
		}
		c.renewed(start)
		next.Reset(again)
	}
}

// keep renews the heartbeat and every lease held each period, and gives
// up every mailbox when no renewal succeeded for the TTL less a margin
// (timers fire late on a loaded machine; the database's expiry is never
// earlier than the start of the renewal plus the TTL).
func (c *Coordinator) keep(ctx context.Context, period time.Duration) {
	margin := c.o.TTL / 10
	t := time.NewTimer(period)
	defer t.Stop()
	expiry := time.NewTimer(c.o.TTL - margin)
	defer expiry.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-expiry.C:
			if time.Since(c.renewedAt()) >= c.o.TTL-margin && len(c.Owned()) > 0 {
				c.log.Warn("lease renewal failed for longer than the lease TTL: giving up every mailbox until the database answers", "ttl", c.o.TTL.String())
				c.dropAll()
			}
			continue
		case <-t.C:
		}
		if n%20 == 0 {
			// This instance's clock against the database's, for `calsync
			// check` (leases themselves use only the database's clock).
			sctx, cancel := context.WithTimeout(ctx, period)
			if s, _, err := c.o.Leases.ClockSkew(sctx, time.Now); err == nil {
				c.skew.Store(int64(-s))
			}
			cancel()
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, period)
		_, err := c.heartbeat(rctx) // renews every lease held (pgstore.Store.Heartbeat)
		cancel()
		if err == nil {
			c.renewed(start)
			t.Reset(period)
		} else {
			t.Reset(period / 3)
		}
		expiry.Reset(time.Until(c.renewedAt().Add(c.o.TTL - margin)))
	}
}

func (c *Coordinator) renewed(start time.Time) {
	c.mu.Lock()
	if start.After(c.renewedTime) {
		c.renewedTime = start
	}
	c.mu.Unlock()
}

// Renewed is when the last successful heartbeat started (zero before
// the first): this instance's registration, and the leases it holds, last
// at least until then plus the TTL.
func (c *Coordinator) Renewed() time.Time { return c.renewedAt() }

func (c *Coordinator) renewedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.renewedTime
}

func (c *Coordinator) heartbeat(ctx context.Context) (pgstore.Members, error) {
	c.mu.Lock()
	apiURL := c.apiURL
	c.mu.Unlock()
	return c.o.Leases.Heartbeat(ctx, c.o.ID, apiURL, c.o.TTL, time.Duration(c.skew.Load()))
}

// round is one heartbeat: renew, compute the assignment, take and give up
// leases, tell Apply. It returns when the next round is due: a period
// from now, or sooner when the round is waiting for something that
// happens at a known time — another instance's registration running out
// (it died: its mailboxes are to be shared) or the lease of a mailbox
// assigned here that its previous holder still has — so that a failover
// waits for the TTL and not for the TTL plus a period.
func (c *Coordinator) round(runCtx context.Context) (time.Duration, error) {
	period := c.o.TTL / 3
	ctx, cancel := context.WithTimeout(runCtx, period)
	defer cancel()
	members, held, all, placements, err := c.look(ctx)
	if err != nil {
		return 0, err
	}
	if c.joined.IsZero() {
		c.joined = time.Now()
	}
	if c.o.Discover != nil {
		var waiting int
		if c.learn(runCtx, members.Alive, placements) {
			// Learning took a while: look again (the groups the others
			// learnt meanwhile, instances that joined).
			cancel()
			ctx, cancel = context.WithTimeout(runCtx, period)
			defer cancel()
			if members, held, all, placements, err = c.look(ctx); err != nil {
				return 0, err
			}
		}
		placements, waiting = placeable(placements)
		if waiting > 0 {
			// Placing the others before these are known would split
			// their groups into units that change once they are: wait
			// for their learners (at most a third of the TTL, then this
			// instance learns them itself).
			return period / 8, nil
		}
		if d := c.settling(placements, held); d > 0 {
			return d, nil
		}
	}
	assigned := Assign(members.Alive, placements, c.o.UnitSize)
	var take, give []string
	for _, s := range all {
		if _, ok := held[s]; assigned[s] == c.o.ID && !ok {
			take = append(take, s)
		}
	}
	for s := range held {
		if assigned[s] != c.o.ID {
			give = append(give, s)
		}
	}
	if len(take) > 0 {
		granted, err := c.o.Leases.AcquireLeases(ctx, c.o.ID, take)
		if err != nil {
			return 0, err
		}
		for s, e := range granted {
			held[s] = e
		}
	}
	next := nextRound(period, members, placements, assigned, held, c.o.ID)
	owned := make([]string, 0, len(held))
	for s := range held {
		if assigned[s] == c.o.ID {
			owned = append(owned, s)
		}
	}
	slices.Sort(owned)
	// Epochs first (new mailboxes' first writes need them), then Apply
	// (stops the given-up ones), then forget and release those.
	c.applyMu.Lock()
	c.mu.Lock()
	c.epochs = held
	changed := !slices.Equal(owned, c.owned)
	c.owned = owned
	c.mu.Unlock()
	if changed {
		c.o.Apply(owned)
		c.log.Info("mailboxes owned", "instance", c.o.ID, "owned", len(owned), "instances", len(members.Alive), "taken", len(take), "given_up", len(give))
	}
	c.applyMu.Unlock()
	if len(give) == 0 {
		return next, nil
	}
	c.mu.Lock()
	for _, s := range give {
		delete(c.epochs, s)
	}
	c.mu.Unlock()
	// Apply may have taken longer than the round's deadline (stopping
	// many workers): the release gets its own, or the new owner would wait
	// for the next round.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.TTL/3)
	defer cancel()
	return next, c.o.Leases.ReleaseLeases(rctx, c.o.ID, give)
}

// look reads what a round decides on: the instances alive (with this
// one's heartbeat), the leases held here, every mailbox wanted, sorted, and
// their placements.
func (c *Coordinator) look(ctx context.Context) (pgstore.Members, map[string]int64, []string, []pgstore.Placement, error) {
	members, err := c.heartbeat(ctx)
	if err != nil {
		return members, nil, nil, nil, err
	}
	held, err := c.o.Leases.HeldLeases(ctx, c.o.ID)
	if err != nil {
		return members, nil, nil, nil, err
	}
	c.mu.Lock()
	all := make([]string, 0, len(c.wanted))
	for s := range c.wanted {
		all = append(all, s)
	}
	c.mu.Unlock()
	slices.Sort(all)
	placements, err := c.o.Leases.Placements(ctx, all)
	return members, held, all, placements, err
}

// settling is how long to wait before taking any lease at a cold cluster
// start (nobody holds a mailbox): a third of the TTL after this instance
// joined, so that instances started together are all registered when
// the mailboxes are first placed — one placed on an instance that is
// alone for a moment would move, with a second load, when the others
// join. Zero otherwise.
func (c *Coordinator) settling(placements []pgstore.Placement, held map[string]int64) time.Duration {
	if len(held) > 0 {
		return 0
	}
	for _, p := range placements {
		if p.Owner != "" {
			return 0
		}
	}
	return c.o.TTL/3 - time.Since(c.joined)
}

// dropAll stops using every mailbox: the leases may have expired.
func (c *Coordinator) dropAll() {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	c.mu.Lock()
	c.epochs = map[string]int64{}
	changed := len(c.owned) > 0
	c.owned = nil
	c.mu.Unlock()
	if changed {
		c.o.Apply(nil)
	}
}

// leave ends this instance's part on shutdown: fence every write, release
// the leases and deregister, so that the others take over at their next
// round rather than after the TTL.
func (c *Coordinator) leave() {
	c.mu.Lock()
	c.epochs = map[string]int64{}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	held, err := c.o.Leases.HeldLeases(ctx, c.o.ID)
	if err == nil && len(held) > 0 {
		smtps := make([]string, 0, len(held))
		for s := range held {
			smtps = append(smtps, s)
		}
		err = c.o.Leases.ReleaseLeases(ctx, c.o.ID, smtps)
	}
	if err == nil {
		err = c.o.Leases.Deregister(ctx, c.o.ID)
	}
	if err != nil {
		c.log.Warn("leaving the cluster cleanly failed; the others take over after the lease TTL", "err", fmt.Sprint(err), "ttl", c.o.TTL.String())
	}
}
