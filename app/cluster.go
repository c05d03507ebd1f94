package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/cluster"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/pgstore"
)

// clusterPart is what an instance on PostgreSQL adds: the coordinator
// that decides which mailboxes it owns, and the owned set the engine and
// the presence scheduler work on (the users sources give every instance
// all mailboxes; the coordinator gives each its share).
type clusterPart struct {
	coord *cluster.Coordinator
	// owned is planned by the presence scheduler (its ListUsers).
	owned userSet
	// applyMu orders Apply calls with the scheduler's add/remove.
	applyMu sync.Mutex
	// reads answer the API for the mailboxes other instances own.
	reads *sharedReads
}

// setupCluster makes this instance a member of the cluster when its store
// is PostgreSQL: the engine gets the fenced store, and nothing is synced
// until the coordinator hands mailboxes over.
func (a *App) setupCluster() error {
	pg, ok := a.store.(*pgstore.Store)
	if !ok {
		return nil
	}
	cp := &clusterPart{}
	coord, err := cluster.New(cluster.Options{
		Leases:   pg,
		ID:       a.cfg.Cluster.InstanceID,
		TTL:      a.cfg.Cluster.LeaseTTL,
		UnitSize: a.cfg.Exchange.Notifications.GroupSize,
		Apply:    a.applyOwned,
		// Groups are learnt through the engine's Exchange access, within
		// its budget and credential gate (the engine exists by the time
		// the coordinator runs).
		Discover: func(ctx context.Context, smtps []string) (map[string]string, error) {
			return a.engine.DiscoverGroups(ctx, smtps)
		},
		Logger: a.log.With("component", "cluster"),
	})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	cp.coord = coord
	cp.reads = newSharedReads(a)
	a.cluster = cp
	return nil
}

// engineStore is the store the engine writes: fenced by lease epochs in a
// cluster, the store itself otherwise.
func (a *App) engineStore() store.Store {
	if a.cluster == nil {
		return a.store
	}
	return cluster.EngineStore(a.store.(*pgstore.Store), a.cluster.coord)
}

// plannedUsers are the users the presence scheduler plans: the owned ones
// in a cluster, all of them otherwise.
func (a *App) plannedUsers() *userSet {
	if a.cluster == nil {
		return &a.known
	}
	return &a.cluster.owned
}

// applyOwned hands the owned mailboxes to the engine and the scheduler.
// It returns when the engine stopped the mailboxes left out (the
// coordinator releases their leases after that).
func (a *App) applyOwned(owned []string) {
	cp := a.cluster
	cp.applyMu.Lock()
	defer cp.applyMu.Unlock()
	before := map[string]bool{}
	prev, _ := cp.owned.list(context.Background())
	for _, u := range prev {
		before[u] = true
	}
	lost := cp.owned.set(owned)
	for _, u := range lost {
		a.scheduler.ReleaseUser(u) // its last publication saved for the next owner
	}
	var added []string
	for _, u := range owned {
		if !before[u] {
			added = append(added, u)
		}
	}
	// Adopt before the engine starts the new workers: their first status
	// report plans the user, and must find what the previous owner
	// published and any override, or the user's presence would be
	// published again as if new (and an override lost).
	if len(added) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		docs, err := a.store.(*pgstore.Store).LoadPresenceOf(ctx, added)
		cancel()
		if err != nil {
			a.log.Warn("reading the taken-over users' presence failed; planning them afresh", "users", len(added), "err", err)
		}
		a.sipHandover(lost, added, docs)
		for _, u := range added {
			a.scheduler.AdoptUser(u, docs[u])
		}
	} else {
		a.sipHandover(lost, nil, nil)
	}
	a.engine.SetMailboxes(owned)
	a.setMemoryLimit(len(owned))
}

// clusterReady is /readyz in a cluster: whether this instance's API can
// answer for the cluster, not whether it syncs anything itself. Every
// instance answers reads for every mailbox from the shared database and
// forwards writes to the owner, so an instance that owns no mailbox (it
// just joined, or the others carry them all) is a good target for a load
// balancer; one that cannot reach the database is not: its registration
// and leases run out, and what it answers for other instances' mailboxes
// goes stale. Mailbox problems make it "degraded" (200) as on one
// instance.
func (a *App) clusterReady() error {
	renewed := a.cluster.coord.Renewed()
	switch {
	case renewed.IsZero():
		return errors.New("not registered in the cluster yet (no heartbeat reached the database)")
	case time.Since(renewed) > a.cfg.Cluster.LeaseTTL:
		return fmt.Errorf("no heartbeat reached the database for %s (cluster.lease_ttl %s): this instance owns nothing until it does",
			time.Since(renewed).Round(time.Second), a.cfg.Cluster.LeaseTTL)
	case !a.cluster.reads.ready():
		return errors.New("the other instances' presence and sync status were not read yet")
	}
	return nil
}

// runCluster is the coordinator's loop and the refresh of the shared
// reads (nil without a cluster).
func (a *App) runCluster(ctx context.Context) error {
	if a.cluster == nil {
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.cluster.reads.run(ctx) })
	defer wg.Wait()
	return a.cluster.coord.Run(ctx)
}

// presenceReads and syncReads are the API's presence and sync sources:
// in a cluster they answer for every mailbox (sharedReads).
func (a *App) presenceReads() api.PresenceSource {
	if a.cluster == nil {
		return a.scheduler
	}
	return a.cluster.reads
}

func (a *App) syncReads() api.SyncSource {
	if a.cluster == nil {
		return a.engine
	}
	return a.cluster.reads
}

// Owned lists the mailboxes this instance owns in its cluster, sorted
// (nil without a cluster).
func (a *App) Owned() []string {
	if a.cluster == nil {
		return nil
	}
	return a.cluster.coord.Owned()
}

// handedOver is the engine's Options.HandedOver: in a cluster, a mailbox
// handed to another instance keeps its subscription (the new owner resumes
// it from the stored checkpoint; ending it would fail the new owner's
// stream and send the mailbox into back-off). An option, not a wrapper
// around the Exchange: a wrapper hid the Exchange's optional interfaces,
// so cluster instances polled no mail tips (one GetUserOofSettings per
// mailbox at every load and takeover), kept no sync states and read zones
// one by one.
func (a *App) handedOver() func(string) bool {
	if a.cluster == nil {
		return nil
	}
	return a.cluster.coord.Wanted
}

// webhookOutbox is the outbox the webhook dispatcher reads: in a cluster a
// claiming view, so that each message is delivered by one instance
// (pgstore.Store.Claiming). A claim lasts the lease TTL or twice the
// longest endpoint timeout, whichever is longer: a dead instance's claimed
// deliveries move on after that, under the same ids.
func (a *App) webhookOutbox() store.Outbox {
	if a.cluster == nil {
		return a.store
	}
	ttl := a.cfg.Cluster.LeaseTTL
	for _, h := range a.cfg.Webhooks {
		ttl = max(ttl, 2*h.Timeout)
	}
	return a.store.(*pgstore.Store).Claiming(a.cfg.Cluster.InstanceID, ttl)
}

// webhookPoll is how often the dispatcher looks for messages it was not
// woken for: in a cluster, those other instances enqueued or left behind
// (0: the dispatcher's default).
func (a *App) webhookPoll() time.Duration {
	if a.cluster == nil {
		return 0
	}
	return a.cfg.Cluster.LeaseTTL
}
