package cluster

import (
	"time"

	"github.com/calsync/calsync/store/pgstore"
)

// nextRound is how long a round waits for the next: a period, or less when
// something this instance waits for happens at a known time sooner.
//
//   - Another instance's registration runs out (members.NextExpiry): a
//     live instance renews it long before, so this is a dead one, and its
//     units are shared out at that moment rather than up to a period
//     later.
//   - A mailbox assigned here is still leased by another instance: when
//     that instance is gone, its lease runs out at a known time (a few
//     milliseconds after its registration, renewed right after it); when
//     it is alive it is handing the mailbox over and releases the lease
//     once its engine let go, so look again in a quarter period.
//
// Never sooner than a hundredth of the TTL (the database's clock and this
// one's timers are not exact: a round a little early finds the lease still
// held and tries again).
func nextRound(period time.Duration, members pgstore.Members, placements []pgstore.Placement, assigned map[string]string, held map[string]int64, id string) time.Duration {
	next := period
	soon := func(d time.Duration) { next = min(next, d) }
	if members.NextExpiry > 0 {
		soon(members.NextExpiry)
	}
	alive := make(map[string]bool, len(members.Alive))
	for _, m := range members.Alive {
		alive[m] = true
	}
	for _, p := range placements {
		if _, ok := held[p.SMTP]; ok || assigned[p.SMTP] != id {
			continue
		}
		switch {
		case p.Owner == "" || p.Owner == id:
			soon(0) // free now (released, or expired since the read)
		case alive[p.Owner]:
			soon(period / 4)
		default:
			soon(p.Expires)
		}
	}
	floor := 3 * period / 100
	return max(next, floor)
}
