package ewsmem_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

// TestWireOtherWellKnownFolders: the mail folders every Exchange mailbox
// has exist in the simulator, in Exchange's tree (root → msgfolderroot →
// the calendar and the others), by name and by id. Subscribe and
// SyncFolderItems work on them (empty), CalendarView is calendar-only.
func TestWireOtherWellKnownFolders(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	user := "user1@example.com"
	schema := ewsschema.NewBatch(t) // every answer below, validated in one run at the end
	post := func(t *testing.T, name, body string) []byte {
		t.Helper()
		status, data := e.post(envelope("Exchange2013_SP1", user, body), "X-AnchorMailbox", user)
		if status != http.StatusOK {
			t.Fatalf("%s: HTTP %d\n%s", name, status, data)
		}
		schema.Add(name, data)
		return data
	}
	syncBody := func(folder, state string) string {
		s := ""
		if state != "" {
			s = `<m:SyncState>` + state + `</m:SyncState>`
		}
		return `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="` + folder + `"/></m:SyncFolderId>` + s + `<m:MaxChangesReturned>100</m:MaxChangesReturned></m:SyncFolderItems>`
	}
	sync := func(t *testing.T, folder, state string) ewswire.SyncFolderItemsResponseMessage {
		t.Helper()
		var r ewswire.SyncFolderItemsResponse
		decode(t, post(t, "SyncFolderItems "+folder, syncBody(folder, state)), &r)
		return r.ResponseMessages.Messages[0]
	}
	var calendarState string
	t.Run("calendar state", func(t *testing.T) {
		m := sync(t, "calendar", "")
		if m.ResponseCode != "NoError" || m.SyncState == "" {
			t.Fatalf("calendar sync = %+v", m)
		}
		calendarState = m.SyncState
	})
	for _, folder := range []string{"inbox", "sentitems", "drafts", "deleteditems", "junkemail", "outbox"} {
		t.Run(folder, func(t *testing.T) {
			m := sync(t, folder, "")
			if m.ResponseCode != "NoError" || m.SyncState == "" || m.Changes == nil || len(*m.Changes) != 0 || m.IncludesLastItemInRange == nil || !*m.IncludesLastItemInRange {
				t.Fatalf("first sync = %+v", m)
			}
			if again := sync(t, folder, m.SyncState); again.ResponseCode != "NoError" || again.Changes == nil || len(*again.Changes) != 0 {
				t.Errorf("sync with the folder's own state = %+v", again)
			}
			if foreign := sync(t, folder, calendarState); foreign.ResponseCode != string(ews.ErrorInvalidSyncStateData) {
				t.Errorf("sync with the calendar's state = %s, want ErrorInvalidSyncStateData", foreign.ResponseCode)
			}

			var s ewswire.SubscribeResponse
			decode(t, post(t, "Subscribe "+folder, `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="`+folder+`"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`), &s)
			sm := s.ResponseMessages.Messages[0]
			if sm.ResponseCode != "NoError" || sm.SubscriptionId == "" || sm.Watermark == "" {
				t.Fatalf("Subscribe = %+v", sm)
			}
			// The folder holds no items: a calendar item created meanwhile
			// is not an event of this subscription.
			if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "Not in " + folder, Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			var g ewswire.GetEventsResponse
			decode(t, post(t, "GetEvents "+folder, `<m:GetEvents><m:SubscriptionId>`+sm.SubscriptionId+`</m:SubscriptionId><m:Watermark>`+sm.Watermark+`</m:Watermark></m:GetEvents>`), &g)
			if n := g.ResponseMessages.Messages[0].Notification; n == nil || len(n.Events) != 1 || n.Events[0].Type != "StatusEvent" {
				t.Errorf("GetEvents = %+v, want only a StatusEvent", g.ResponseMessages.Messages[0])
			}

			var f ewswire.FindItemResponse
			decode(t, post(t, "CalendarView "+folder, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-09T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="`+folder+`"/></m:ParentFolderIds></m:FindItem>`), &f)
			if c := f.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorCalendarFolderIsInvalidForCalendarView) {
				t.Errorf("CalendarView = %s, want ErrorCalendarFolderIsInvalidForCalendarView", c)
			}
		})
	}
	t.Run("hierarchy", func(t *testing.T) {
		names := []string{"root", "msgfolderroot", "calendar", "inbox", "sentitems", "drafts", "deleteditems", "outbox", "junkemail", "contacts", "tasks", "notes", "journal"}
		var ids string
		for _, n := range names {
			ids += `<t:DistinguishedFolderId Id="` + n + `"/>`
		}
		var r ewswire.GetFolderResponse
		decode(t, post(t, "GetFolder by name", `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>`+ids+`</m:FolderIds></m:GetFolder>`), &r)
		byName := map[string]ews.Folder{}
		seen := map[string]bool{}
		for i, m := range r.ResponseMessages.Messages {
			if m.ResponseCode != "NoError" || len(m.Folders) != 1 {
				t.Fatalf("GetFolder(%s) = %+v", names[i], m)
			}
			f := m.Folders[0].ToEWS()
			if f.FolderId.IsZero() || seen[f.FolderId.Id] {
				t.Errorf("GetFolder(%s): id %q missing or not unique", names[i], f.FolderId.Id)
			}
			seen[f.FolderId.Id] = true
			byName[names[i]] = f
		}
		// The tree: root above msgfolderroot, every other folder below it.
		if !byName["root"].ParentFolderId.IsZero() || byName["msgfolderroot"].ParentFolderId.Id != byName["root"].FolderId.Id ||
			byName["msgfolderroot"].DisplayName != "Top of Information Store" {
			t.Errorf("roots = %+v, %+v", byName["root"], byName["msgfolderroot"])
		}
		for _, n := range names[2:] {
			if byName[n].ParentFolderId.Id != byName["msgfolderroot"].FolderId.Id {
				t.Errorf("%s's parent = %q, want msgfolderroot", n, byName[n].ParentFolderId.Id)
			}
		}
		if byName["calendar"].Kind != "CalendarFolder" || byName["contacts"].Kind != "ContactsFolder" || byName["tasks"].Kind != "TasksFolder" || byName["inbox"].FolderClass != "IPF.Note" {
			t.Errorf("kinds: calendar %s, contacts %s, tasks %s, inbox class %s", byName["calendar"].Kind, byName["contacts"].Kind, byName["tasks"].Kind, byName["inbox"].FolderClass)
		}
		// Every id leads back to its folder; by id, the empty folders
		// sync and subscribe like by name, and stay out of CalendarView.
		for _, n := range names {
			id := byName[n].FolderId.Id
			var again ewswire.GetFolderResponse
			decode(t, post(t, "GetFolder by id", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:FolderId Id="`+id+`"/></m:FolderIds></m:GetFolder>`), &again)
			if m := again.ResponseMessages.Messages[0]; m.ResponseCode != "NoError" || m.Folders[0].ToEWS().DisplayName != byName[n].DisplayName {
				t.Errorf("GetFolder(id of %s) = %+v", n, m)
			}
			if n == "calendar" {
				continue
			}
			var sr ewswire.SyncFolderItemsResponse
			decode(t, post(t, "SyncFolderItems by id", `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:FolderId Id="`+id+`"/></m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`), &sr)
			if m := sr.ResponseMessages.Messages[0]; m.ResponseCode != "NoError" || m.Changes == nil || len(*m.Changes) != 0 {
				t.Errorf("SyncFolderItems(id of %s) = %+v", n, m)
			}
			var s ewswire.SubscribeResponse
			decode(t, post(t, "Subscribe by id", `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:FolderId Id="`+id+`"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`), &s)
			if c := s.ResponseMessages.Messages[0].ResponseCode; c != "NoError" {
				t.Errorf("Subscribe(id of %s) = %s", n, c)
			}
			var f ewswire.FindItemResponse
			decode(t, post(t, "CalendarView by id", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-09T00:00:00Z"/><m:ParentFolderIds><t:FolderId Id="`+id+`"/></m:ParentFolderIds></m:FindItem>`), &f)
			if c := f.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorCalendarFolderIsInvalidForCalendarView) {
				t.Errorf("CalendarView(id of %s) = %s, want ErrorCalendarFolderIsInvalidForCalendarView", n, c)
			}
		}
		// Another mailbox's folder ids are found there, not here.
		var other ewswire.GetFolderResponse
		decode(t, post(t, "GetFolder unknown", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="searchfolders"/></m:FolderIds></m:GetFolder>`), &other)
		if c := other.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorFolderNotFound) {
			t.Errorf("GetFolder(searchfolders) = %s, want ErrorFolderNotFound", c)
		}
	})
	t.Run("msgfolderroot", func(t *testing.T) {
		// The calendar's parent: its subscriptions see the calendar
		// folder's ModifiedEvent, not the items' events.
		var s ewswire.SubscribeResponse
		decode(t, post(t, "Subscribe msgfolderroot", `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`), &s)
		sm := s.ResponseMessages.Messages[0]
		if sm.ResponseCode != "NoError" {
			t.Fatalf("Subscribe = %+v", sm)
		}
		if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "Below msgfolderroot", Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var g ewswire.GetEventsResponse
		decode(t, post(t, "GetEvents msgfolderroot", `<m:GetEvents><m:SubscriptionId>`+sm.SubscriptionId+`</m:SubscriptionId><m:Watermark>`+sm.Watermark+`</m:Watermark></m:GetEvents>`), &g)
		n, err := g.ResponseMessages.Messages[0].Notification.ToEWS()
		if err != nil || len(n.Events) != 1 || n.Events[0].Type != ews.EventModified || n.Events[0].FolderId == nil || n.Events[0].ItemId != nil {
			t.Errorf("GetEvents = %+v, %v; want the calendar folder's ModifiedEvent only", n, err)
		}
	})
	t.Run("calendar and inbox", func(t *testing.T) {
		var s ewswire.SubscribeResponse
		decode(t, post(t, "Subscribe both", `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`), &s)
		sm := s.ResponseMessages.Messages[0]
		if sm.ResponseCode != "NoError" {
			t.Fatalf("Subscribe = %+v", sm)
		}
		if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "In the calendar", Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var g ewswire.GetEventsResponse
		decode(t, post(t, "GetEvents both", `<m:GetEvents><m:SubscriptionId>`+sm.SubscriptionId+`</m:SubscriptionId><m:Watermark>`+sm.Watermark+`</m:Watermark></m:GetEvents>`), &g)
		n := g.ResponseMessages.Messages[0].Notification
		if n == nil || len(n.Events) != 1 || n.Events[0].Type != "CreatedEvent" {
			t.Errorf("GetEvents = %+v, want the calendar's CreatedEvent", g.ResponseMessages.Messages[0])
		}
	})
}
