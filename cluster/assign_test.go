package cluster

import (
	"fmt"
	"slices"
	"testing"

	"github.com/calsync/calsync/store/pgstore"
)

// org is n mailboxes in groups of groupSize, none held yet.
func org(n, groupSize int) []pgstore.Placement {
	ps := make([]pgstore.Placement, n)
	for i := range ps {
		ps[i] = pgstore.Placement{SMTP: fmt.Sprintf("user%05d@example.com", i), Group: fmt.Sprintf("db%02d", i/groupSize)}
	}
	return ps
}

// hold records an assignment as the current leases.
func hold(ps []pgstore.Placement, a map[string]string) []pgstore.Placement {
	out := make([]pgstore.Placement, len(ps))
	for i, p := range ps {
		p.Owner = a[p.SMTP]
		out[i] = p
	}
	return out
}

func loads(a map[string]string) map[string]int {
	l := map[string]int{}
	for _, id := range a {
		l[id]++
	}
	return l
}

func moved(before, after map[string]string) int {
	n := 0
	for m, id := range after {
		if before[m] != id {
			n++
		}
	}
	return n
}

// checkGroups fails when a chunk of one streaming connection's worth of a
// group is split over instances.
func checkGroups(t *testing.T, ps []pgstore.Placement, a map[string]string, unitSize int) {
	t.Helper()
	byGroup := map[string][]string{}
	for _, p := range ps {
		byGroup[p.Group] = append(byGroup[p.Group], p.SMTP)
	}
	for g, members := range byGroup {
		owners := map[string]bool{}
		for _, m := range members {
			owners[a[m]] = true
		}
		if want := (len(members) + unitSize - 1) / unitSize; len(owners) > want {
			t.Errorf("group %s (%d mailboxes) spread over %d instances, at most %d expected", g, len(members), len(owners), want)
		}
	}
}

func checkBalance(t *testing.T, a map[string]string, instances []string, total int) {
	t.Helper()
	l := loads(a)
	limit := int(float64(total)*overload/float64(len(instances))) + 1
	for _, id := range instances {
		if l[id] == 0 || l[id] > limit {
			t.Errorf("instance %s owns %d of %d mailboxes (limit %d): %v", id, l[id], total, limit, l)
		}
	}
	if len(a) != total {
		t.Errorf("%d of %d mailboxes assigned", len(a), total)
	}
}

func TestAssignKeepsGroupsTogetherAndBalances(t *testing.T) {
	ps := org(3000, 150) // 20 groups
	three := []string{"calsync-a", "calsync-b", "calsync-c"}
	a := Assign(three, ps, 200)
	checkGroups(t, ps, a, 200)
	checkBalance(t, a, three, 3000)
	// Every instance computes the same assignment, whatever order it
	// lists the instances in.
	if b := Assign([]string{"calsync-c", "calsync-a", "calsync-b"}, ps, 200); moved(a, b) != 0 {
		t.Errorf("assignment depends on the order of instances: %d mailboxes differ", moved(a, b))
	}
	// Once held, the same instances keep everything: nothing moves.
	if b := Assign(three, hold(ps, a), 200); moved(a, b) != 0 {
		t.Errorf("a stable cluster moves %d mailboxes", moved(a, b))
	}
}

func TestAssignMovesOnlyTheDeadInstancesMailboxes(t *testing.T) {
	ps := org(3000, 150)
	three := []string{"calsync-a", "calsync-b", "calsync-c"}
	held := hold(ps, Assign(three, ps, 200))
	before := Assign(three, held, 200)
	two := []string{"calsync-a", "calsync-c"}
	after := Assign(two, held, 200)
	checkGroups(t, ps, after, 200)
	checkBalance(t, after, two, 3000)
	for m, id := range before {
		if id != "calsync-b" && after[m] != id {
			t.Errorf("%s moved from %s to %s though %s is alive", m, id, after[m], id)
		}
	}
}

func TestAssignGivesAJoiningInstanceAShare(t *testing.T) {
	ps := org(3000, 100)
	two := []string{"calsync-a", "calsync-b"}
	held := hold(ps, Assign(two, ps, 200))
	three := append(two, "calsync-d")
	after := Assign(three, held, 200)
	checkGroups(t, ps, after, 200)
	checkBalance(t, after, three, 3000)
	// Only what the newcomer takes moves.
	if got := moved(Assign(two, held, 200), after); got != loads(after)["calsync-d"] {
		t.Errorf("%d mailboxes moved, the new instance got %d", got, loads(after)["calsync-d"])
	}
}

func TestAssignLargeGroupsSplitByConnection(t *testing.T) {
	ps := org(1000, 1000) // one group of 1,000: five connections of 200
	three := []string{"calsync-a", "calsync-b", "calsync-c"}
	a := Assign(three, ps, 200)
	checkGroups(t, ps, a, 200)
	// Five units over three instances: 400 / 400 / 200 is the best split
	// (above the 1.1× bound, which a unit of 200 cannot meet at 1,000).
	got := []int{}
	for _, n := range loads(a) {
		got = append(got, n)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{200, 400, 400}) {
		t.Errorf("loads %v, want 200 / 400 / 400", got)
	}
}

// checkEven fails when an instance owns more than 1.1× the mean or less
// than least× of it (units of 200 at 10,000 mailboxes on two or three
// instances allow 1.1×).
func checkEven(t *testing.T, what string, a map[string]string, instances []string, total int, least float64) {
	t.Helper()
	mean := float64(total) / float64(len(instances))
	l := loads(a)
	for _, id := range instances {
		if r := float64(l[id]) / mean; r > 1.1 || r < least {
			t.Errorf("%s: instance %s owns %d mailboxes, %.2f× the mean %.0f (want within %.2f–1.1×): %v", what, id, l[id], r, mean, least, l)
		}
	}
}

// TestAssignSplitsEvenlyAtTenThousand: 10,000 mailboxes in four affinity
// groups (calsync bench -cluster 3 -mailboxes 10000 -servers 4) were split
// 4,100 / 1,800 / 4,100 with a 1.25× bound; the slowest instance sets the
// time of a load and of a failover. Now no instance carries more than
// 1.1× the mean: at the start and after one dies within 10 % either way;
// one that comes back takes only what the others hold above 1.1× (about
// 0.85× of the mean: each unit it takes is a move, a read per mailbox).
func TestAssignSplitsEvenlyAtTenThousand(t *testing.T) {
	ps := org(10000, 2500)
	three := []string{"calsync-a", "calsync-b", "calsync-c"}
	a := Assign(three, ps, 200)
	checkGroups(t, ps, a, 200)
	checkEven(t, "cold start", a, three, 10000, 0.9)
	held := hold(ps, a)
	for _, dead := range three {
		var two []string
		for _, id := range three {
			if id != dead {
				two = append(two, id)
			}
		}
		after := Assign(two, held, 200)
		checkEven(t, dead+" dead", after, two, 10000, 0.9)
		for m, id := range a {
			if id != dead && after[m] != id {
				t.Fatalf("%s dead: %s moved from %s to %s though %s is alive", dead, m, id, after[m], id)
			}
		}
		back := Assign(three, hold(ps, after), 200)
		checkEven(t, dead+" back", back, three, 10000, 0.8)
		if got := moved(after, back); got != loads(back)[dead] {
			t.Errorf("%s back: %d mailboxes moved, it got %d", dead, got, loads(back)[dead])
		}
	}
}

func TestAssignUnknownGroupsAndNoInstances(t *testing.T) {
	ps := org(10, 1)
	for i := range ps {
		ps[i].Group = ""
	}
	a := Assign([]string{"x"}, ps, 200)
	if len(a) != 10 || loads(a)["x"] != 10 {
		t.Errorf("one instance: %v", loads(a))
	}
	if a := Assign(nil, ps, 200); len(a) != 0 {
		t.Errorf("no instances: %d assigned", len(a))
	}
}
