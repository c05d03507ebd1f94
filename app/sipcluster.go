package app

import (
	"context"
	"strings"
	"time"

	"github.com/calsync/calsync/connectors"
)

// In a cluster the SIP connector publishes the users whose mailboxes this
// instance owns: applyOwned hands it the users taken over and given up
// (connectors/sip/cluster.go says how publications move between owners).

// sipHandover tells the SIP connector about a change of the owned set:
// lost users are given up (moved to another instance: their publications
// stay for the new owner; taken out of the users source: withdrawn), added
// users are adopted with the presence their previous owner published
// (docs, the stored presence documents). It returns when the lost users'
// publications are saved, before their leases are released.
func (a *App) sipHandover(lost, added []string, docs map[string][]byte) {
	if a.sip == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var moved []string
	for _, u := range lost {
		if a.known.has(u) {
			moved = append(moved, u)
		} else {
			a.sip.Runner().Remove(u) // a removing PUBLISH
		}
	}
	_ = a.sip.Release(ctx, moved) // logged by the connector
	if len(added) == 0 {
		return
	}
	states := make(map[string]*connectors.State, len(added))
	for _, u := range added {
		states[u] = nil
		if s, ok := storedState(docs[u]); ok {
			states[u] = &s
		}
	}
	_ = a.sip.Adopt(ctx, states) // logged by the connector
}

// sipOwns is the connector's check right before a PUBLISH: the user is in
// this instance's owned set and the leases have not run out. An instance
// that was paused past its leases wakes up owning them on paper until the
// coordinator's deadline fires; the check keeps it from publishing over
// the new owner meanwhile (same deadline as the coordinator's: the start
// of the last renewal plus the TTL less a tenth).
func (a *App) sipOwns(user string) bool {
	cp := a.cluster
	if !cp.owned.has(strings.ToLower(user)) {
		return false
	}
	renewed, ttl := cp.coord.Renewed(), a.cfg.Cluster.LeaseTTL
	return !renewed.IsZero() && time.Since(renewed) < ttl-ttl/10
}
