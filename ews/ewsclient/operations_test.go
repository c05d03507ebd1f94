package ewsclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/internal/ewsschema"
)

// exerciseAll calls every operation the client offers once (with the
// variants that change the request shape) and checks the decoded answers.
func exerciseAll(t *testing.T, c *ewsclient.Client, autodiscoverURL string) {
	t.Helper()
	ctx := context.Background()
	alice := ewsclient.ActAs("alice@contoso.com")

	if _, ok := c.ServerVersion(); ok {
		t.Fatal("ServerVersion() known before any call")
	}
	folders, err := c.GetFolder(ctx, alice, ewsclient.GetFolderRequest{Folders: []ews.FolderRef{ews.CalendarFolder(), ews.FolderByID(ews.FolderId{Id: "AQMkCal"})}, ChangeTracking: true})
	if err != nil || len(folders) != 2 || folders[0].Err != nil || folders[0].Folder.DisplayName != "Calendar" || folders[0].Folder.Kind != "CalendarFolder" {
		t.Fatalf("GetFolder() = %+v, %v", folders, err)
	}

	if v, ok := c.ServerVersion(); !ok || v.MajorVersion != 15 || v.MinorVersion != 2 || v.Version != "V2017_07_11" {
		t.Fatalf("ServerVersion() = %+v, %v", v, ok)
	}
	page, err := c.CalendarView(ctx, alice, ewsclient.CalendarViewRequest{Start: testStart, End: testStart.Add(7 * 24 * time.Hour), MaxEntries: 2})
	if err != nil {
		t.Fatalf("CalendarView() = %v", err)
	}
	if len(page.Items) != 2 || !page.Truncated() || page.TotalItemsInView != 3 || page.Items[0].Subject != "Meeting 1" || !page.Items[1].Start.Equal(testStart.Add(2*time.Hour)) {
		t.Fatalf("CalendarView() = %+v", page)
	}

	fp, err := c.FindItems(ctx, alice, ewsclient.FindItemsRequest{MaxEntries: 50})
	if err != nil || len(fp.Items) != 2 || fp.NextOffset != 2 {
		t.Fatalf("FindItems() = %+v, %v", fp, err)
	}

	items, err := c.GetItem(ctx, alice, ewsclient.GetItemRequest{IncludeBody: true, Items: []ews.ItemRef{
		ews.ItemByID(ews.ItemId{Id: "a", ChangeKey: "k"}),
		{Item: &ews.ItemId{Id: "missing"}},
		{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: "m", InstanceIndex: 3}},
		{Master: &ews.RecurringMasterItemId{OccurrenceId: "o"}},
	}})
	if err != nil || len(items) != 4 {
		t.Fatalf("GetItem() = %v, %v", items, err)
	}
	if !ews.IsCode(items[1].Err, ews.ErrorItemNotFound) || items[0].Err != nil {
		t.Fatalf("GetItem() errors = %v, %v", items[0].Err, items[1].Err)
	}
	var re *ews.ResponseError
	if !errors.As(items[1].Err, &re) || re.Index != 1 || re.Class != ews.ClassError {
		t.Fatalf("GetItem()[1].Err = %#v", items[1].Err)
	}
	got := items[2].Item
	if got.Recurrence == nil || got.Recurrence.Pattern.Kind != ews.PatternWeekly || len(got.Recurrence.Pattern.DaysOfWeek) != 2 ||
		got.Recurrence.Range.NumberOfOccurrences != 10 || len(got.ModifiedOccurrences) != 1 || len(got.DeletedOccurrences) != 1 ||
		got.StartTimeZone != "W. Europe Standard Time" || got.Organizer == nil || got.Organizer.EmailAddress != "alice@contoso.com" {
		t.Fatalf("GetItem()[2] = %+v", got)
	}
	if ewsclient.JoinErrors(items) == nil {
		t.Fatal("JoinErrors() = nil, want the ItemNotFound error")
	}

	sync, err := c.SyncFolderItems(ctx, alice, ewsclient.SyncFolderItemsRequest{SyncState: "H4sI-old", MaxChanges: 100})
	if err != nil || sync.SyncState != "H4sIAAAA-state-2" || !sync.IncludesLastItemInRange || len(sync.Changes) != 2 ||
		sync.Changes[0].Kind != ewsclient.ChangeCreate || sync.Changes[0].Item == nil || sync.Changes[1].Kind != ewsclient.ChangeDelete || sync.Changes[1].ItemId.Id != "gone" {
		t.Fatalf("SyncFolderItems() = %+v, %v", sync, err)
	}

	single := sampleItem(1)
	single.Body = &ews.Body{Text: "Agenda"}
	single.Categories = []string{"Red"}
	single.RequiredAttendees = []ews.Attendee{{Mailbox: ews.Mailbox{EmailAddress: "bob@contoso.com"}}}
	recurring := sampleItem(2)
	recurring.Recurrence = &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternRelativeMonthly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Tuesday}, DayOfWeekIndex: ews.IndexSecond},
		Range: ews.RecurrenceRange{Kind: ews.RangeEndDate, StartDate: ews.Date{Year: 2026, Month: 3, Day: 10}, EndDate: ews.Date{Year: 2026, Month: 12, Day: 31}}}
	allDay := sampleItem(3)
	allDay.IsAllDayEvent = true
	allDay.LegacyFreeBusyStatus = ews.FreeBusyWorkingElsewhere
	allDay.Recurrence = &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternAbsoluteYearly, DayOfMonth: 24, Month: time.December},
		Range: ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: ews.Date{Year: 2026, Month: 12, Day: 24}}}
	aliceTZ := alice
	aliceTZ.TimeZone = "W. Europe Standard Time"
	created, err := c.CreateItem(ctx, aliceTZ, ewsclient.CreateItemRequest{Items: []ews.CalendarItem{single, recurring, allDay}, SendMeetingInvitations: ewsclient.SendToAllAndSaveCopy})
	if err != nil || len(created) != 3 || created[2].ItemId.Id != "new2" {
		t.Fatalf("CreateItem() = %+v, %v", created, err)
	}

	updated, err := c.UpdateItem(ctx, alice, ewsclient.UpdateItemRequest{Updates: nil})
	if err == nil {
		t.Fatalf("UpdateItem(no updates) = %v, want error", updated)
	}
	updated, err = c.UpdateItem(ctx, alice, ewsclient.UpdateItemRequest{Updates: []ewsclient.ItemUpdate{
		{Item: ews.ItemByID(ews.ItemId{Id: "a", ChangeKey: "k"}), Changes: []ewsclient.FieldChange{ewsclient.SetSubject("New"), ewsclient.SetStart(testStart), ewsclient.SetEnd(testStart.Add(time.Hour)),
			ewsclient.SetLocation("Room 2"), ewsclient.SetFreeBusy(ews.FreeBusyTentative), ewsclient.SetSensitivity(ews.SensitivityPrivate), ewsclient.SetCategories("Blue"), ewsclient.SetBody("x"), ewsclient.SetAllDay(false)}},
		{Item: ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: "m", InstanceIndex: 2}}, Changes: []ewsclient.FieldChange{ewsclient.SetStart(testStart)}},
		{Item: ews.ItemRef{Master: &ews.RecurringMasterItemId{OccurrenceId: "o"}}, Changes: []ewsclient.FieldChange{ewsclient.SetRecurrence(*recurring.Recurrence), ewsclient.SetStartTimeZone("UTC"), ewsclient.DeleteField("calendar:Location"),
			ewsclient.SetExtendedProperty(ews.ExtendedProperty{Field: ews.PidLidAppointmentStateFlags, Value: "5"}), ewsclient.DeleteExtendedProperty(ews.PidLidBusyStatus)}},
	}, SendMeetingInvitationsOrCancellations: ewsclient.SendToChangedAndSaveCopy})
	if err != nil || len(updated) != 3 || updated[1].ItemId.Id != "upd1" {
		t.Fatalf("UpdateItem() = %+v, %v", updated, err)
	}

	deleted, err := c.DeleteItem(ctx, alice, ewsclient.DeleteItemRequest{Items: []ews.ItemRef{ews.ItemByID(ews.ItemId{Id: "a"}), {Occurrence: &ews.OccurrenceItemId{RecurringMasterId: "m", InstanceIndex: 4}}}, DeleteType: ewsclient.HardDelete})
	if err != nil || len(deleted) != 2 || deleted[0] != nil {
		t.Fatalf("DeleteItem() = %v, %v", deleted, err)
	}

	group := ewsclient.NewAffinity("")
	anchored := ewsclient.Call{ActAs: ews.ImpersonateSMTP("bob@contoso.com"), Anchor: "alice@contoso.com", Affinity: group}
	for _, kind := range []ews.SubscriptionKind{ews.SubscriptionStreaming, ews.SubscriptionPull} {
		sub, err := c.Subscribe(ctx, anchored, ewsclient.SubscribeRequest{Kind: kind})
		if err != nil || sub.Id == "" {
			t.Fatalf("Subscribe(%s) = %+v, %v", kind, sub, err)
		}
	}
	if _, err := c.Subscribe(ctx, alice, ewsclient.SubscribeRequest{Kind: ews.SubscriptionPush, URL: "https://calsync.contoso.com/push", StatusFrequencyMinutes: 5, AllFolders: true}); err != nil {
		t.Fatalf("Subscribe(push) = %v", err)
	}
	if group.Cookie() != "MBX01.contoso.com~1941996295" {
		t.Fatalf("affinity cookie = %q", group.Cookie())
	}

	n, err := c.GetEvents(ctx, alice, "sub1", "wm1")
	if err != nil || n.PreviousWatermark != "wm1" || len(n.Events) != 2 || n.Events[0].Type != ews.EventCreated || n.LastWatermark() != "wm3" {
		t.Fatalf("GetEvents() = %+v, %v", n, err)
	}
	if err := c.Unsubscribe(ctx, alice, "sub1"); err != nil {
		t.Fatalf("Unsubscribe() = %v", err)
	}

	stream, err := c.GetStreamingEvents(ctx, anchored, ewsclient.StreamRequest{SubscriptionIds: []string{"s1", "s2", "s3"}, ConnectionTimeoutMinutes: 29})
	if err != nil {
		t.Fatalf("GetStreamingEvents() = %v", err)
	}
	var batches []ewsclient.StreamBatch
	for {
		b, err := stream.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next() = %v", err)
		}
		batches = append(batches, b)
	}
	stream.Close()
	if len(batches) != 4 || batches[0].Status != ews.ConnectionOK || len(batches[1].Notifications) != 1 || batches[1].Notifications[0].SubscriptionId != "s1" ||
		len(batches[2].Failed) != 1 || len(batches[2].Failed[0].SubscriptionIds) != 2 || batches[2].Failed[0].Err.Code != ews.ErrorSubscriptionNotFound || batches[3].Status != ews.ConnectionClosed {
		t.Fatalf("stream batches = %+v", batches)
	}

	avail, err := c.GetUserAvailability(ctx, ewsclient.Call{}, ewsclient.AvailabilityRequest{Start: testStart, End: testStart.Add(24 * time.Hour),
		Mailboxes: []ews.MailboxData{{Email: ews.Mailbox{EmailAddress: "alice@contoso.com"}}, {Email: ews.Mailbox{EmailAddress: "bob@contoso.com"}, AttendeeType: ews.AttendeeRoom}}})
	if err != nil || len(avail) != 2 || avail[1].View.MergedFreeBusy != "0024" || len(avail[0].View.CalendarEvents) != 1 || !avail[0].View.CalendarEvents[0].StartTime.Equal(testStart) {
		t.Fatalf("GetUserAvailability() = %+v, %v", avail, err)
	}
	if st, ok := ews.MergedFreeBusyStatus(avail[0].View.MergedFreeBusy[3], c.Version()); !ok || st != ews.FreeBusyWorkingElsewhere {
		t.Fatalf("MergedFreeBusyStatus('4') = %s, %v", st, ok)
	}

	oof, err := c.GetUserOofSettings(ctx, alice, "alice@contoso.com")
	if err != nil || oof.State != ews.OofScheduled || !oof.ActiveAt(testStart.Add(time.Hour)) || oof.ActiveAt(testStart.Add(73*time.Hour)) || oof.InternalReply != "Away" {
		t.Fatalf("GetUserOofSettings() = %+v, %v", oof, err)
	}

	if autodiscoverURL != "" {
		us, err := c.GetUserSettings(ctx, ewsclient.AutodiscoverRequest{URL: autodiscoverURL, Mailboxes: []string{"alice@contoso.com", "bob@contoso.com"}})
		if err != nil || len(us) != 2 || us[1].EWSURL() != "https://mail.contoso.com/EWS/Exchange.asmx" || us[0].AffinityGroup() != "Site-ahttps://mail.contoso.com/EWS/Exchange.asmx" {
			t.Fatalf("GetUserSettings() = %+v, %v", us, err)
		}
	}
}

// TestEveryRequestValidates sends every request the client can emit and
// validates each captured request envelope, and every response the
// codec-based fake server wrote, against Microsoft's schema.
func TestEveryRequestValidates(t *testing.T) {
	f, c, srv := newFake(t, nil)
	exerciseAll(t, c, srv.URL+"/autodiscover/autodiscover.svc")
	f.mu.Lock()
	defer f.mu.Unlock()
	ops := map[string]bool{}
	for _, r := range f.requests {
		for _, op := range []string{"GetFolder", "FindItem", "GetItem", "SyncFolderItems", "CreateItem", "UpdateItem", "DeleteItem",
			"Subscribe", "GetEvents", "Unsubscribe", "GetStreamingEvents", "GetUserAvailabilityRequest", "GetUserOofSettingsRequest", "GetUserSettingsRequestMessage"} {
			if bytes.Contains(r, []byte("<"+op+" ")) || bytes.Contains(r, []byte(":"+op+">")) || bytes.Contains(r, []byte("<"+op+">")) {
				ops[op] = true
			}
		}
	}
	if !bytes.Contains(bytes.Join(f.requests, nil), []byte(`TimeZoneDefinition Id="W. Europe Standard Time"`)) {
		t.Fatal("no request carried the TimeZoneContext header")
	}
	if len(ops) != 14 {
		t.Fatalf("operations covered = %v, want 14", ops)
	}
	ewsschema.Validate(t, "client-requests", bytes.Join(f.requests, nil))
	ewsschema.Validate(t, "fake-responses", bytes.Join(f.responses, nil))
}

// TestRoutingHeaders checks impersonation, X-AnchorMailbox and affinity.
func TestRoutingHeaders(t *testing.T) {
	f, c, _ := newFake(t, &ewsclient.Options{Version: ews.Exchange2016})
	ctx := context.Background()
	group := ewsclient.NewAffinity("")
	call := ewsclient.Call{ActAs: ews.ConnectingSID{Kind: ews.SIDPrincipalName, Value: "bob@corp.contoso.com", Anchor: "bob@contoso.com"}, Anchor: "anchor@contoso.com", Affinity: group}
	if _, err := c.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUserOofSettings(ctx, ewsclient.Call{ActAs: ews.ConnectingSID{Kind: ews.SIDSecurityID, Value: "S-1-5-21-1", Anchor: "carol@contoso.com"}}, "carol@contoso.com"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	h0, h1, h2 := f.headers[0], f.headers[1], f.headers[2]
	if h0.Get("X-AnchorMailbox") != "anchor@contoso.com" || h0.Get("X-PreferServerAffinity") != "true" || h0.Get("Cookie") != "" {
		t.Fatalf("first subscribe headers = %v", h0)
	}
	if !strings.Contains(h1.Get("Cookie"), "X-BackEndOverrideCookie=MBX01.contoso.com~1941996295") {
		t.Fatalf("second subscribe did not replay the cookie: %v", h1)
	}
	if h2.Get("X-AnchorMailbox") != "carol@contoso.com" || h2.Get("X-PreferServerAffinity") != "" {
		t.Fatalf("oof headers = %v", h2)
	}
	for i, want := range []string{"<PrincipalName>bob@corp.contoso.com</PrincipalName>", "", "<SID>S-1-5-21-1</SID>"} {
		if want != "" && !bytes.Contains(f.requests[i], []byte(want)) {
			t.Fatalf("request %d lacks %s:\n%s", i, want, f.requests[i])
		}
		if !bytes.Contains(f.requests[i], []byte(`Version="Exchange2016"`)) {
			t.Fatalf("request %d lacks the version header", i)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		endpoint string
		opts     *ewsclient.Options
	}{
		{"ftp://x/EWS", nil},
		{"https://user:pw@x/EWS/Exchange.asmx", nil},
		{"/relative", nil},
		{"https://x/EWS/Exchange.asmx", &ewsclient.Options{Version: "Exchange2019"}},
		{"https://x/EWS/Exchange.asmx", &ewsclient.Options{Version: "V2017_07_11"}},
	}
	for _, tt := range tests {
		if _, err := ewsclient.New(tt.endpoint, tt.opts); err == nil {
			t.Errorf("New(%q, %+v) = nil error", tt.endpoint, tt.opts)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("New() error leaks the password: %v", err)
		}
	}
}
