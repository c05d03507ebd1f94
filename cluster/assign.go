package cluster

import (
	"hash/fnv"
	"slices"
	"sort"
	"strconv"

	"github.com/calsync/calsync/store/pgstore"
)

// overload is how far above an even share an instance may keep the units
// it holds: a little room to keep units where they are (every move costs
// the new owner a read of each mailbox) while no instance carries much
// more than the others — the most loaded instance sets the time a load or
// a failover takes. It was 1.25: with units of 200, 10,000 mailboxes on
// three instances split 4,100 / 1,800 / 4,100.
const overload = 1.1

// unit is a set of mailboxes placed together: one streaming connection's
// worth of an affinity group (at most unitSize members), or one mailbox
// whose group is not known yet.
type unit struct {
	key     string
	members []string
	holder  string // the instance holding most of its members now, if alive
}

// Assign decides which instance owns each mailbox: every instance of
// instances computes the same answer from the same placements. Mailboxes
// of one affinity group stay together in units of unitSize (so that each
// instance's streaming connections are full and few); a unit stays with
// the instance holding most of it while that instance carries no more than
// 1.1 times an even share, so that a join or a departure moves few units;
// other units (nobody's yet, a dead instance's, above the bound) go, the
// largest first, to the least loaded instance (ties: the highest ranked
// for the unit by rendezvous hashing), so that they even the loads out. It
// returns smtp → instance id (no entry without instances).
func Assign(instances []string, placements []pgstore.Placement, unitSize int) map[string]string {
	out := make(map[string]string, len(placements))
	if len(instances) == 0 {
		return out
	}
	alive := make(map[string]bool, len(instances))
	for _, id := range instances {
		alive[id] = true
	}
	units := makeUnits(placements, unitSize, alive)
	total := len(placements)
	limit := int(float64(total)*overload/float64(len(instances))) + 1
	load := make(map[string]int, len(instances))
	place := func(u unit, id string) {
		load[id] += len(u.members)
		for _, m := range u.members {
			out[m] = id
		}
	}
	fits := func(u unit, id string) bool { return load[id] == 0 || load[id]+len(u.members) <= limit }
	var rest []unit
	for _, u := range units {
		if u.holder != "" && fits(u, u.holder) {
			place(u, u.holder)
		} else {
			rest = append(rest, u)
		}
	}
	for _, u := range rest {
		ranked := rank(u.key, instances)
		chosen := ranked[0]
		for _, id := range ranked[1:] {
			if load[id] < load[chosen] {
				chosen = id
			}
		}
		place(u, chosen)
	}
	return out
}

// makeUnits groups placements into units, largest first then by key, so
// that every instance walks them in the same order.
func makeUnits(placements []pgstore.Placement, unitSize int, alive map[string]bool) []unit {
	if unitSize <= 0 {
		unitSize = 1
	}
	groups := map[string][]pgstore.Placement{}
	var units []unit
	for _, p := range placements {
		if p.Group == "" {
			units = append(units, unit{key: "mailbox:" + p.SMTP, members: []string{p.SMTP}, holder: holderOf([]pgstore.Placement{p}, alive)})
			continue
		}
		groups[p.Group] = append(groups[p.Group], p)
	}
	for g, ps := range groups {
		sort.Slice(ps, func(i, j int) bool { return ps[i].SMTP < ps[j].SMTP })
		for i := 0; i < len(ps); i += unitSize {
			chunk := ps[i:min(i+unitSize, len(ps))]
			u := unit{key: "group:" + g + "#" + strconv.Itoa(i/unitSize), holder: holderOf(chunk, alive)}
			for _, p := range chunk {
				u.members = append(u.members, p.SMTP)
			}
			units = append(units, u)
		}
	}
	sort.Slice(units, func(i, j int) bool {
		if len(units[i].members) != len(units[j].members) {
			return len(units[i].members) > len(units[j].members)
		}
		return units[i].key < units[j].key
	})
	return units
}

// holderOf is the live instance holding most of ps (ties: the smallest
// id), or "".
func holderOf(ps []pgstore.Placement, alive map[string]bool) string {
	count := map[string]int{}
	best := ""
	for _, p := range ps {
		if p.Owner == "" || !alive[p.Owner] {
			continue
		}
		count[p.Owner]++
		if c := count[p.Owner]; best == "" || c > count[best] || c == count[best] && p.Owner < best {
			best = p.Owner
		}
	}
	return best
}

// rank orders instances by their rendezvous score for key, best first.
func rank(key string, instances []string) []string {
	ranked := slices.Clone(instances)
	score := make(map[string]uint64, len(ranked))
	for _, id := range ranked {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(id))
		score[id] = mix(h.Sum64())
	}
	sort.Slice(ranked, func(i, j int) bool {
		if score[ranked[i]] != score[ranked[j]] {
			return score[ranked[i]] > score[ranked[j]]
		}
		return ranked[i] < ranked[j]
	})
	return ranked
}

// mix spreads FNV's output over all 64 bits (FNV alone ranks similar ids
// alike): the finaliser of SplitMix64.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
