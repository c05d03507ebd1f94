package cluster

import (
	"context"
	"time"

	"github.com/calsync/calsync/store/pgstore"
)

// Learning affinity groups before placing. A mailbox's group is stored
// with its status once its owner discovered it; at a cold start none is,
// and placing every mailbox alone and moving it to its group's instance
// once its first load told the group cost most mailboxes a second full
// load (issue 14: 7.6–8.8 EWS requests per mailbox at 3 × 3,000). So a
// mailbox that nobody holds and whose group is not known waits: the
// instance ranked first for it looks its group up with batched
// Autodiscover (Options.Discover, 90 mailboxes per request) and stores it
// (pgstore.Store.SaveGroups), and every instance then places it with its
// group. A mailbox still waiting a third of the TTL after this instance
// first saw it (its learner died, or runs an older calsync) is looked up
// here as well, so nothing waits for long.

// learn looks up the groups of the waiting mailboxes this instance learns
// and stores them; it reports whether it stored any. A batch whose
// request failed is stored without a group: those mailboxes are placed
// alone and their owners' workers discover them with their own back-off
// and credential gate, rather than every round asking Autodiscover again.
func (c *Coordinator) learn(ctx context.Context, alive []string, placements []pgstore.Placement) bool {
	now := time.Now()
	var mine []string
	waiting := make(map[string]time.Time)
	for _, p := range placements {
		if !waitsForGroup(p) {
			continue
		}
		since, ok := c.waitingSince[p.SMTP]
		if !ok {
			since = now
		}
		waiting[p.SMTP] = since
		if rank("mailbox:"+p.SMTP, alive)[0] == c.o.ID || now.Sub(since) >= c.o.TTL/3 {
			mine = append(mine, p.SMTP)
		}
	}
	c.waitingSince = waiting
	if len(mine) == 0 {
		return false
	}
	lctx, cancel := context.WithTimeout(ctx, c.o.TTL)
	defer cancel()
	start := time.Now()
	groups, err := c.o.Discover(lctx, mine)
	if groups == nil {
		groups = make(map[string]string, len(mine))
	}
	failed := 0
	for _, s := range mine {
		if _, ok := groups[s]; !ok {
			groups[s] = ""
			failed++
		}
	}
	if err != nil {
		c.log.Warn("learning affinity groups with Autodiscover failed; those mailboxes are placed alone and move once their group is known",
			"mailboxes", failed, "err", err)
	}
	if err := c.o.Leases.SaveGroups(lctx, groups); err != nil {
		c.log.Warn("saving learnt affinity groups failed; trying again next round", "mailboxes", len(groups), "err", err)
		return false
	}
	c.log.Info("affinity groups learnt", "mailboxes", len(groups), "failed", failed, "took", time.Since(start).Round(time.Millisecond).String())
	return true
}

// waitsForGroup: nobody holds the mailbox and its group was never learnt.
func waitsForGroup(p pgstore.Placement) bool { return !p.Learnt && p.Owner == "" }

// placeable drops the mailboxes waiting for their group and counts them.
func placeable(placements []pgstore.Placement) ([]pgstore.Placement, int) {
	out := placements[:0:0]
	for _, p := range placements {
		if !waitsForGroup(p) {
			out = append(out, p)
		}
	}
	return out, len(placements) - len(out)
}
