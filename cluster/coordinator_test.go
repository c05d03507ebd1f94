package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/cluster"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// partitionable is a database connection that can be cut.
type partitionable struct {
	*pgstore.Store
	cut atomic.Bool
}

var errCut = errors.New("network partition")

func (p *partitionable) Heartbeat(ctx context.Context, id, apiURL string, ttl, skew time.Duration) (pgstore.Members, error) {
	if p.cut.Load() {
		return pgstore.Members{}, errCut
	}
	return p.Store.Heartbeat(ctx, id, apiURL, ttl, skew)
}

func (p *partitionable) HeldLeases(ctx context.Context, owner string) (map[string]int64, error) {
	if p.cut.Load() {
		return nil, errCut
	}
	return p.Store.HeldLeases(ctx, owner)
}

// member is one coordinator and a journal of what it was told to own.
type member struct {
	id    string
	coord *cluster.Coordinator
	db    *partitionable
	mu    sync.Mutex
	// journal: every Apply, with the time it returned.
	journal []applied
	cancel  context.CancelFunc
	done    chan struct{}
}

type applied struct {
	at    time.Time
	owned []string
}

func (m *member) owned() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.journal) == 0 {
		return nil
	}
	return m.journal[len(m.journal)-1].owned
}

func join(t *testing.T, url, id string, mailboxes []string) *member {
	t.Helper()
	return joinDiscovering(t, url, id, mailboxes, nil)
}

// joinDiscovering is join with Options.Discover.
func joinDiscovering(t *testing.T, url, id string, mailboxes []string, discover func(context.Context, []string) (map[string]string, error)) *member {
	t.Helper()
	st, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	m := &member{id: id, db: &partitionable{Store: st}, done: make(chan struct{})}
	m.coord, err = cluster.New(cluster.Options{Leases: m.db, ID: id, TTL: 3 * time.Second, UnitSize: 200,
		Apply: func(owned []string) {
			m.mu.Lock()
			m.journal = append(m.journal, applied{at: time.Now(), owned: owned})
			m.mu.Unlock()
		}, Discover: discover})
	if err != nil {
		t.Fatal(err)
	}
	m.coord.SetMailboxes(mailboxes)
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() { defer close(m.done); _ = m.coord.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-m.done; st.Close() })
	return m
}

func mailboxes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%02d@example.com", i)
	}
	return out
}

// TestPartitionedInstanceLetsGoBeforeAnotherTakesOver: an instance that
// can no longer renew its leases stops using its mailboxes by its own
// deadline, and the other instance gets them only after the leases
// expired on the database's clock: never two owners at once.
func TestPartitionedInstanceLetsGoBeforeAnotherTakesOver(t *testing.T) {
	url := pgtest.Database(t)
	boxes := mailboxes(30)
	a := join(t, url, "calsync-a", boxes)
	b := join(t, url, "calsync-b", boxes)
	testenv.WaitFor(t, "the mailboxes shared by both", func() bool {
		return len(a.owned()) > 0 && len(b.owned()) > 0 && len(a.owned())+len(b.owned()) == len(boxes)
	})
	for _, m := range a.owned() {
		if slices.Contains(b.owned(), m) {
			t.Fatalf("%s owned by both", m)
		}
		if e, ok := a.coord.Epoch(m); !ok || e <= 0 {
			t.Errorf("a owns %s without an epoch", m)
		}
	}
	lost := a.owned()
	// Only what b was told after the cut counts: while the two shared the
	// mailboxes at the start, b may have held some of a's for a while.
	b.mu.Lock()
	bBefore := len(b.journal)
	b.mu.Unlock()
	a.db.cut.Store(true)
	testenv.WaitFor(t, "b owning every mailbox", func() bool { return len(b.owned()) == len(boxes) })
	testenv.WaitFor(t, "a owning none", func() bool { return len(a.owned()) == 0 })

	a.mu.Lock()
	gaveUp := a.journal[len(a.journal)-1].at
	a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ap := range b.journal[bBefore:] {
		for _, m := range lost {
			if slices.Contains(ap.owned, m) {
				if !ap.at.After(gaveUp) {
					t.Errorf("b took %s at %s, before a gave it up at %s", m, ap.at.Format(time.StampMilli), gaveUp.Format(time.StampMilli))
				}
				return
			}
		}
	}
}

// TestCleanLeaveHandsOverAtOnce: an instance that stops releases its
// leases and deregisters, and the other takes over without waiting for
// the TTL; a joining instance gets a share.
func TestCleanLeaveHandsOverAtOnce(t *testing.T) {
	url := pgtest.Database(t)
	boxes := mailboxes(30)
	a := join(t, url, "calsync-a", boxes)
	testenv.WaitFor(t, "a owning every mailbox", func() bool { return len(a.owned()) == len(boxes) })
	b := join(t, url, "calsync-b", boxes)
	testenv.WaitFor(t, "b getting a share", func() bool {
		return len(b.owned()) > 0 && len(a.owned())+len(b.owned()) == len(boxes)
	})
	b.cancel()
	<-b.done
	// The leases are gone from the database right away: nothing waits for
	// the TTL (placements show no holder but a).
	ps, err := a.db.Placements(context.Background(), boxes)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Owner == "calsync-b" {
			t.Fatalf("%s still leased to the instance that left", p.SMTP)
		}
	}
	testenv.WaitFor(t, "a owning every mailbox again", func() bool { return len(a.owned()) == len(boxes) })
}

// TestRemovedMailboxesAreGivenUp: a mailbox taken out of the users is
// given up and its lease released.
func TestRemovedMailboxesAreGivenUp(t *testing.T) {
	url := pgtest.Database(t)
	boxes := mailboxes(5)
	a := join(t, url, "calsync-a", boxes)
	testenv.WaitFor(t, "a owning every mailbox", func() bool { return len(a.owned()) == 5 })
	a.coord.SetMailboxes(boxes[:3])
	testenv.WaitFor(t, "a owning three", func() bool { return len(a.owned()) == 3 })
	if a.coord.Wanted(boxes[4]) || !a.coord.Wanted(boxes[0]) {
		t.Error("Wanted does not follow SetMailboxes")
	}
	if _, ok := a.coord.Epoch(boxes[4]); ok {
		t.Error("an epoch is still held for a removed mailbox")
	}
}
