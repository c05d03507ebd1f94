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
// has exist in the simulator. Subscribe and SyncFolderItems work on them
// (empty), CalendarView is calendar-only.
func TestWireOtherWellKnownFolders(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	user := "user1@example.com"
	post := func(t *testing.T, name, body string) []byte {
		t.Helper()
		status, data := e.post(envelope("Exchange2013_SP1", user, body), "X-AnchorMailbox", user)
		if status != http.StatusOK {
			t.Fatalf("%s: HTTP %d\n%s", name, status, data)
		}
		ewsschema.Validate(t, name, data)
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
