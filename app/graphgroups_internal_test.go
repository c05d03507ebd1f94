package app

import (
	"reflect"
	"testing"

	"github.com/calsync/calsync/api"
)

// The streaming groups of cloud mailboxes (one per mailbox in the engine)
// become one Exchange Online group; Exchange Server groups stay as they are.
func TestGraphGroupViewMergesCloudMailboxes(t *testing.T) {
	const graph = "exchange_online:graph|https://graph.microsoft.com/v1.0"
	ews := api.StreamGroup{Key: "exchange:mbx01|https://mail.example.com/EWS/Exchange.asmx", Anchor: "a@example.com", Subscriptions: 2,
		Connections: []api.StreamConnection{{Name: "exchange:mbx01#1"}}}
	in := []api.StreamGroup{
		{Key: graph + "/users/b@example.com", Anchor: "b@example.com", Subscriptions: 1, Connections: []api.StreamConnection{{Name: "exchange_online:graph#2"}}},
		ews,
		{Key: graph + "/users/c@example.com", Anchor: "c@example.com", Subscriptions: 1, Connections: []api.StreamConnection{{Name: "exchange_online:graph#3"}}},
	}
	got := graphGroupView{api.StreamGroupsFunc(func() []api.StreamGroup { return in })}.StreamGroups()
	want := []api.StreamGroup{
		{Key: graph, Subscriptions: 2, Connections: []api.StreamConnection{{Name: "exchange_online:graph#2"}, {Name: "exchange_online:graph#3"}}},
		ews,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StreamGroups() = %+v, want %+v", got, want)
	}
}
