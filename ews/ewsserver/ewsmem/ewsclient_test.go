package ewsmem_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// TestOwnClientConformance runs the exchangelib scenarios through calsync's
// own client, with impersonation over Basic and NTLM.
func TestOwnClientConformance(t *testing.T) {
	for _, auth := range []string{"basic", "ntlm"} {
		t.Run(auth, func(t *testing.T) {
			sim, err := ewssim.New(ewssim.Options{Generate: true, Basic: auth == "basic", NTLM: auth == "ntlm", SchemaNotificationNamespace: auth == "basic",
				Options: ewsmem.Options{Mailboxes: 3, Servers: 2, Seed: 42, Password: "Passw0rd!"}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(sim)
			defer func() { srv.Close(); sim.Close() }()
			var hc ewsclient.HTTPClient = http.DefaultClient
			if auth == "basic" {
				hc = ewsclient.BasicAuth(http.DefaultClient, sim.ServiceAccount(), "Passw0rd!")
			} else {
				hc, err = ewsclient.NTLMAuth(&http.Transport{}, sim.ServiceAccount(), "Passw0rd!")
				if err != nil {
					t.Fatal(err)
				}
			}
			client, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: hc, Version: ews.Exchange2016})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			user, other := "user1@example.com", "user2@example.com"
			call := ewsclient.Call{ActAs: ews.ImpersonateSMTP(user)}
			now := time.Now().UTC().Truncate(time.Hour)
			start, end := now.Add(-24*time.Hour), now.Add(6*24*time.Hour)
			truth, err := sim.Occurrences(user, start, end)
			if err != nil {
				t.Fatal(err)
			}

			// Calendar view against ground truth.
			page, err := client.CalendarView(ctx, call, ewsclient.CalendarViewRequest{Start: start, End: end})
			if err != nil {
				t.Fatalf("CalendarView() = %v", err)
			}
			if len(page.Items) != len(truth) || page.Truncated() {
				t.Fatalf("CalendarView() = %d items (truncated %v), ground truth %d", len(page.Items), page.Truncated(), len(truth))
			}
			for i, it := range page.Items {
				w := truth[i]
				if it.ItemId.Id != w.ItemId.Id || it.Subject != w.Subject || !it.Start.Equal(w.Start) || !it.End.Equal(w.End) ||
					it.CalendarItemType != w.CalendarItemType || it.LegacyFreeBusyStatus != w.LegacyFreeBusyStatus ||
					it.IsAllDayEvent != w.IsAllDayEvent || it.Sensitivity != w.Sensitivity || it.IsCancelled != w.IsCancelled {
					t.Errorf("view[%d] = %s %s %s %s, want %s %s %s %s", i, it.Subject, it.Start, it.CalendarItemType, it.LegacyFreeBusyStatus,
						w.Subject, w.Start, w.CalendarItemType, w.LegacyFreeBusyStatus)
				}
			}
			// GetItem.
			var refs []ews.ItemRef
			for _, it := range page.Items[:min(5, len(page.Items))] {
				refs = append(refs, ews.ItemByID(it.ItemId))
			}
			items, err := client.GetItem(ctx, call, ewsclient.GetItemRequest{Items: refs})
			if err != nil || ewsclient.JoinErrors(items) != nil {
				t.Fatalf("GetItem() = %v / %v", err, ewsclient.JoinErrors(items))
			}
			for i, r := range items {
				if r.Item.Subject != truth[i].Subject {
					t.Errorf("GetItem[%d] = %q, want %q", i, r.Item.Subject, truth[i].Subject)
				}
			}
			// Initial sync, then subscriptions, then changes.
			state, initial := syncAll(ctx, t, client, call, "")
			if initial == 0 {
				t.Fatal("initial sync returned no changes")
			}
			pull, err := client.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionPull, Folders: []ews.FolderRef{ews.CalendarFolder()}, TimeoutMinutes: 10})
			if err != nil {
				t.Fatalf("Subscribe(pull) = %v", err)
			}
			stream, err := client.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming, Folders: []ews.FolderRef{ews.CalendarFolder()}})
			if err != nil {
				t.Fatalf("Subscribe(streaming) = %v", err)
			}
			created, err := client.CreateItem(ctx, call, ewsclient.CreateItemRequest{Items: []ews.CalendarItem{{Subject: "own client", Start: start.Add(30 * time.Hour), End: start.Add(31 * time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy}}})
			if err != nil || created[0].Err != nil {
				t.Fatalf("CreateItem() = %v / %+v", err, created)
			}
			updated, err := client.UpdateItem(ctx, call, ewsclient.UpdateItemRequest{Updates: []ewsclient.ItemUpdate{{Item: ews.ItemByID(created[0].ItemId), Changes: []ewsclient.FieldChange{ewsclient.SetSubject("own client updated")}}}})
			if err != nil || updated[0].Err != nil || updated[0].ItemId.ChangeKey == created[0].ItemId.ChangeKey {
				t.Fatalf("UpdateItem() = %v / %+v", err, updated)
			}
			state, n := syncAll(ctx, t, client, call, state)
			if n != 1 {
				t.Errorf("sync after create = %d changes, want 1", n)
			}
			if errs, err := client.DeleteItem(ctx, call, ewsclient.DeleteItemRequest{Items: []ews.ItemRef{ews.ItemByID(updated[0].ItemId)}}); err != nil || errs[0] != nil {
				t.Fatalf("DeleteItem() = %v / %v", err, errs)
			}
			if _, n := syncAll(ctx, t, client, call, state); n != 1 {
				t.Errorf("sync after delete = %d changes, want 1", n)
			}
			// Pull events.
			notif, err := client.GetEvents(ctx, call, pull.Id, pull.Watermark)
			if err != nil {
				t.Fatalf("GetEvents() = %v", err)
			}
			if !hasEvents(notif.Events, ews.EventCreated, ews.EventModified, ews.EventDeleted) {
				t.Errorf("pull events = %v", eventTypes(notif.Events))
			}
			// Streaming events.
			st, err := client.GetStreamingEvents(ctx, call, ewsclient.StreamRequest{SubscriptionIds: []string{stream.Id}, ConnectionTimeoutMinutes: 1})
			if err != nil {
				t.Fatalf("GetStreamingEvents() = %v", err)
			}
			var streamed []ews.Event
			for len(streamed) == 0 {
				b, err := st.Next()
				if err != nil {
					t.Fatalf("Stream.Next() = %v", err)
				}
				for _, n := range b.Notifications {
					streamed = append(streamed, n.Events...)
				}
			}
			st.Close()
			if !hasEvents(streamed, ews.EventCreated) {
				t.Errorf("streamed events = %v", eventTypes(streamed))
			}
			// Free/busy for two mailboxes, OOF, Autodiscover.
			av, err := client.GetUserAvailability(ctx, ewsclient.Call{}, ewsclient.AvailabilityRequest{
				Mailboxes: []ews.MailboxData{{Email: ews.Mailbox{EmailAddress: user}, AttendeeType: ews.AttendeeRequired}, {Email: ews.Mailbox{EmailAddress: other}, AttendeeType: ews.AttendeeRequired}},
				Start:     start, End: end, IntervalMinutes: 60, View: ews.ViewDetailedMerged})
			if err != nil || len(av) != 2 || av[0].Err != nil || len(av[0].View.MergedFreeBusy) != int(end.Sub(start)/time.Hour) {
				t.Fatalf("GetUserAvailability() = %v / %+v", err, av)
			}
			if _, err := client.GetUserOofSettings(ctx, call, user); err != nil {
				t.Errorf("GetUserOofSettings() = %v", err)
			}
			before := sim.Stats()
			us, err := client.GetUserSettings(ctx, ewsclient.AutodiscoverRequest{URL: srv.URL + "/autodiscover/autodiscover.svc", Mailboxes: []string{user, other}})
			if err != nil || len(us) != 2 {
				t.Fatalf("GetUserSettings() = %v / %+v", err, us)
			}
			// One Autodiscover request, counted apart from the EWS requests.
			if after := sim.Stats(); after.AutodiscoverRequests != before.AutodiscoverRequests+1 || after.RequestsTotal != before.RequestsTotal {
				t.Errorf("after one GetUserSettings: autodiscover requests %d → %d, EWS requests %d → %d; want +1 and unchanged",
					before.AutodiscoverRequests, after.AutodiscoverRequests, before.RequestsTotal, after.RequestsTotal)
			}
			want, _ := sim.MailboxServer(other)
			if got := us[1].Settings[ewsclient.SettingGroupingInformation]; got != "Site-"+want {
				t.Errorf("GroupingInformation(%s) = %q, want Site-%s", other, got, want)
			}
		})
	}
}

func syncAll(ctx context.Context, t *testing.T, c *ewsclient.Client, call ewsclient.Call, state string) (string, int) {
	t.Helper()
	n := 0
	for i := 0; i < 100; i++ {
		p, err := c.SyncFolderItems(ctx, call, ewsclient.SyncFolderItemsRequest{SyncState: state, MaxChanges: 5})
		if err != nil {
			t.Fatalf("SyncFolderItems() = %v", err)
		}
		n += len(p.Changes)
		state = p.SyncState
		if p.IncludesLastItemInRange {
			return state, n
		}
	}
	t.Fatal("SyncFolderItems never reached the last item")
	return "", 0
}

func eventTypes(events []ews.Event) []ews.EventType {
	var out []ews.EventType
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

func hasEvents(events []ews.Event, want ...ews.EventType) bool {
	have := map[ews.EventType]bool{}
	for _, e := range events {
		have[e.Type] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}
