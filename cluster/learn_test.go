package cluster_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

// TestGroupsAreLearntBeforePlacing: mailboxes nobody synced yet are
// looked up once, each by one instance, and placed with their group — a
// group's mailboxes on one instance from the first placement.
func TestGroupsAreLearntBeforePlacing(t *testing.T) {
	url := pgtest.Database(t)
	boxes := mailboxes(40)
	var mu sync.Mutex
	asked := map[string]int{}
	discover := func(_ context.Context, smtps []string) (map[string]string, error) {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]string{}
		for _, s := range smtps {
			asked[s]++
			out[s] = group(s)
		}
		return out, nil
	}
	a := joinDiscovering(t, url, "calsync-a", boxes, discover)
	b := joinDiscovering(t, url, "calsync-b", boxes, discover)
	testenv.WaitFor(t, "the mailboxes shared by both", func() bool {
		return len(a.owned()) > 0 && len(b.owned()) > 0 && len(a.owned())+len(b.owned()) == len(boxes)
	})
	// Every placement an instance was told holds whole groups (10
	// mailboxes each, one unit).
	for _, m := range []*member{a, b} {
		m.mu.Lock()
		for _, ap := range m.journal {
			per := map[string]int{}
			for _, s := range ap.owned {
				per[group(s)]++
			}
			for g, n := range per {
				if n != 10 {
					t.Errorf("%s was told to own %d of group %s's 10 mailboxes: %v", m.id, n, g, ap.owned)
				}
			}
		}
		m.mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range boxes {
		if asked[s] == 0 {
			t.Errorf("%s placed without its group being looked up", s)
		}
	}
}

// group is the affinity group the test's Autodiscover gives: the tens
// digit (user0N → g0, user1N → g1, …).
func group(smtp string) string { return "g" + smtp[4:5] }

// TestFailedLookupsArePlacedAlone: when Autodiscover fails, the mailboxes
// are placed all the same (alone, as before their group is known) instead
// of waiting for a lookup that keeps failing.
func TestFailedLookupsArePlacedAlone(t *testing.T) {
	url := pgtest.Database(t)
	boxes := mailboxes(20)
	var mu sync.Mutex
	calls := 0
	a := joinDiscovering(t, url, "calsync-a", boxes, func(context.Context, []string) (map[string]string, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return nil, errors.New("autodiscover: HTTP 503")
	})
	testenv.WaitFor(t, "a owning every mailbox", func() bool { return len(a.owned()) == len(boxes) })
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("Autodiscover asked %d times; want once (a failed lookup is not repeated every round)", calls)
	}
}
