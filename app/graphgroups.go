package app

import (
	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/engine/graphexchange"
	"github.com/calsync/calsync/store"
)

// The engine keeps each Graph mailbox in a group of its own (its limits
// and its delta poll are per mailbox; graphexchange.Discover). The sync
// view shows them as an administrator thinks of them: one group for
// Exchange Online with all its mailboxes, next to the Exchange Server
// groups. Statuses and streaming groups are folded alike, so that
// ?group= filters and the group rows agree.

// graphSyncView folds the Graph mailboxes' groups of sync.
type graphSyncView struct{ api.SyncSource }

func (v graphSyncView) Statuses() []store.MailboxStatus {
	out := v.SyncSource.Statuses()
	for i := range out {
		out[i].Group = graphexchange.ServiceGroup(out[i].Group)
	}
	return out
}

func (v graphSyncView) Status(user string) (store.MailboxStatus, error) {
	st, err := v.SyncSource.Status(user)
	st.Group = graphexchange.ServiceGroup(st.Group)
	return st, err
}

// graphGroupView merges the streaming groups of Graph mailboxes (in a
// hybrid organisation each cloud mailbox's delta poll is a "stream").
type graphGroupView struct{ api.StreamGroupSource }

func (v graphGroupView) StreamGroups() []api.StreamGroup {
	in := v.StreamGroupSource.StreamGroups()
	out := make([]api.StreamGroup, 0, len(in))
	at := map[string]int{} // folded key → index in out
	for _, g := range in {
		key := graphexchange.ServiceGroup(g.Key)
		i, seen := at[key]
		switch {
		case key == g.Key:
			out = append(out, g)
		case !seen:
			at[key] = len(out)
			g.Key, g.Anchor = key, "" // Graph has no anchor mailbox
			out = append(out, g)
		default:
			out[i].Subscriptions += g.Subscriptions
			out[i].Connections = append(out[i].Connections, g.Connections...)
		}
	}
	return out
}

// graphViews wraps sync and groups when Graph serves mailboxes.
func graphViews(graph bool, sync api.SyncSource, groups api.StreamGroupSource) (api.SyncSource, api.StreamGroupSource) {
	if !graph {
		return sync, groups
	}
	return graphSyncView{sync}, graphGroupView{groups}
}
