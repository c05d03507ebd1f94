package ewswire_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sampleChecks asserts field values of every file in testdata/ews-samples.
var sampleChecks = map[string]func(t *testing.T, env *ewswire.Envelope){
	"autodiscover-getusersettings-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		r := env.Body.(*ewswire.GetUserSettingsRequestMessage)
		if got := r.Mailboxes(); len(got) != 1 || got[0] != "UserName@domain.contoso.com" {
			t.Errorf("Mailboxes() = %v", got)
		}
		if s := r.Request.RequestedSettings.Setting; len(s) != 8 || s[7] != "EwsSupportedSchemas" {
			t.Errorf("settings = %v", s)
		}
		if env.Header.AutodiscoverVersion == nil || env.Header.AutodiscoverVersion.Value != "Exchange2010" || env.Header.Action == nil ||
			env.Header.To.Value != "https://myserver.contoso.com/autodiscover/autodiscover.svc" {
			t.Errorf("header = %+v", env.Header)
		}
	},
	"createitem-calendaritem-request-impersonation.xml": func(t *testing.T, env *ewswire.Envelope) {
		r := env.Body.(*ewswire.CreateItem)
		sid, err := env.Header.Impersonation.ToEWS()
		if err != nil || sid.Kind != ews.SIDSmtpAddress || sid.Value != "alfred@contoso.com" || sid.AnchorMailbox() != "alfred@contoso.com" {
			t.Errorf("impersonation = %+v, %v", sid, err)
		}
		if env.Header.TimeZoneContext.Definition.Id != "Pacific Standard Time" || env.Header.RequestServerVersion.Version != "Exchange2013" {
			t.Errorf("header = %+v", env.Header)
		}
		c, err := r.Items.CalendarItem[0].ToEWS()
		if err != nil || r.SendMeetingInvitations != "SendToNone" || c.Subject != "Tennis lesson" || c.Location != "Tennis club" ||
			c.Body.Type != ews.BodyHTML || c.Body.Text != "Focus on backhand this week." || !c.Start.Equal(mustTime("2013-09-21T19:00:00Z")) || c.End.Sub(c.Start) != time.Hour {
			t.Errorf("item = %+v, %v", c, err)
		}
	},
	"error-deleteitem-item-not-found-exchange-online.xml": func(t *testing.T, env *ewswire.Envelope) {
		m := env.Body.(*ewswire.DeleteItemResponse).ResponseMessages.Messages
		err := m[0].Err("DeleteItem", 0)
		var re *ews.ResponseError
		if len(m) != 1 || !errors.As(err, &re) || re.Code != ews.ErrorItemNotFound || re.Class != ews.ClassError ||
			re.MessageText != "The specified object was not found in the store., The process failed to get the correct properties." {
			t.Errorf("Err() = %#v", err)
		}
		if _, retry := ews.RetryAfter(err); retry {
			t.Error("ErrorItemNotFound must not be retryable")
		}
	},
	"error-serverbusy-soap-fault.xml": func(t *testing.T, env *ewswire.Envelope) {
		f := env.Fault().ToError(500)
		if f.Code != ews.ErrorServerBusy || f.FaultCode != "ErrorServerBusy" || f.FaultCodeSpace != ewswire.NSTypes || f.BackOff != 297749*time.Millisecond ||
			f.FaultString != "The server cannot service this request right now. Try again later." {
			t.Errorf("fault = %+v", f)
		}
		if d, ok := ews.RetryAfter(f); !ok || d != 297749*time.Millisecond || !ews.IsCode(f, ews.ErrorServerBusy) {
			t.Errorf("RetryAfter() = %v, %v", d, ok)
		}
	},
	"error-unsubscribe-subscription-not-found.xml": func(t *testing.T, env *ewswire.Envelope) {
		m := env.Body.(*ewswire.UnsubscribeResponse).ResponseMessages.Messages
		if err := m[0].Err("Unsubscribe", -1); !ews.IsCode(err, ews.ErrorSubscriptionNotFound) || !ews.ErrorSubscriptionNotFound.SubscriptionLost() {
			t.Errorf("Err() = %v", err)
		}
		if env.Header.ServerVersionInfo.ToEWS().String() != "8.0.628.0" {
			t.Errorf("version = %v", env.Header.ServerVersionInfo.ToEWS())
		}
	},
	"finditem-calendar-response-occurrences-exchange2019.xml": func(t *testing.T, env *ewswire.Envelope) {
		root := env.Body.(*ewswire.FindItemResponse).ResponseMessages.Messages[0].RootFolder
		items, err := root.Items.CalendarItems()
		if err != nil || root.TotalItemsInView != 6 || !root.IncludesLastItemInRange || len(items) != 6 {
			t.Fatalf("root = %+v, %d items, %v", root, len(items), err)
		}
		if items[0].Subject != "Réunion équipe - Café & Discusion" || items[0].Location != "Salle de réunion #1" || items[0].CalendarItemType != ews.ItemTypeSingle ||
			items[0].UID != "040000008200E00074C5B7101A82E0080000000080428EF6C7EDDB01000000000000000010000000212FC2F6CACBA3469720AC0AC1F80F35" {
			t.Errorf("item 0 = %+v", items[0])
		}
		if items[2].Subject != "Hey 👋🏼" || !items[2].IsAllDayEvent || items[2].LegacyFreeBusyStatus != ews.FreeBusyFree || items[2].End.Sub(items[2].Start) != 24*time.Hour {
			t.Errorf("item 2 = %+v", items[2])
		}
		occ := 0
		for _, it := range items {
			if it.CalendarItemType == ews.ItemTypeOccurrence && it.IsRecurring && it.Subject == "Weekly Team Meeting" {
				occ++
			}
		}
		if occ != 4 || !items[5].Start.Equal(mustTime("2025-07-23T10:00:00Z")) {
			t.Errorf("occurrences = %d", occ)
		}
	},
	"finditem-calendarview-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		r := env.Body.(*ewswire.FindItem)
		cv := r.CalendarView
		if r.Traversal != "Shallow" || cv == nil || cv.MaxEntriesReturned != 5 || !cv.StartDate.Equal(mustTime("2013-08-21T17:30:24.127Z")) ||
			len(r.ParentFolderIds) != 1 || r.ParentFolderIds[0].Id != "AAMk" || r.ParentFolderIds[0].Distinguished || len(r.ItemShape.AdditionalProperties.FieldURI) != 3 {
			t.Errorf("FindItem = %+v", r)
		}
	},
	"finditem-calendarview-response.xml": func(t *testing.T, env *ewswire.Envelope) {
		root := env.Body.(*ewswire.FindItemResponse).ResponseMessages.Messages[0].RootFolder
		items, err := root.Items.CalendarItems()
		if err != nil || root.TotalItemsInView != 33 || root.IncludesLastItemInRange || len(items) != 5 || items[4].Subject != "Online training webcast" ||
			!items[1].End.Equal(mustTime("2013-08-21T21:00:00Z")) {
			t.Errorf("root = %+v, %v", root, err)
		}
	},
	"getevents-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		r := env.Body.(*ewswire.GetEvents)
		if r.SubscriptionId == "" || r.Watermark == "" {
			t.Errorf("GetEvents = %+v", r)
		}
	},
	"getevents-response.xml": func(t *testing.T, env *ewswire.Envelope) {
		n, err := env.Body.(*ewswire.GetEventsResponse).ResponseMessages.Messages[0].Notification.ToEWS()
		if err != nil || n.SubscriptionId != "f6bc657d-dde1-4f94-952d-143b95d6483d" || n.PreviousWatermark != "AAAAAMAGAAAAAAAAAQ==" || n.MoreEvents ||
			len(n.Events) != 2 || n.Events[1].Type != ews.EventNewMail || n.Events[1].ItemId.Id != "AQApAHRw" || n.LastWatermark() != "AAAAAOQGAAAAAAAAAQ==" ||
			!n.Events[0].TimeStamp.Equal(mustTime("2006-08-22T00:36:29Z")) || n.Events[0].ParentFolderId.Id != "AQApAH" {
			t.Errorf("notification = %+v, %v", n, err)
		}
	},
	"getitem-calendaritem-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		r := env.Body.(*ewswire.GetItem)
		if len(r.ItemIds) != 1 || r.ItemIds[0].Kind != "ItemId" || r.ItemIds[0].Id != "AsdD89=" || r.ItemIds[0].ChangeKey != "Jajs3==" || r.ItemShape.BaseShape != "IdOnly" {
			t.Errorf("GetItem = %+v", r)
		}
		if env.Header.RequestServerVersion != nil {
			t.Error("sample has no RequestServerVersion")
		}
	},
	"getitem-calendaritem-response-all-properties.xml": func(t *testing.T, env *ewswire.Envelope) {
		m := env.Body.(*ewswire.GetItemResponse).ResponseMessages.Messages[0]
		items, err := m.Items.CalendarItems()
		if err != nil || len(items) != 1 {
			t.Fatalf("items = %v, %v", items, err)
		}
		c := items[0]
		if c.ItemId.Id != "ASUAdT" || c.ItemId.ChangeKey != "otlIqB==" || c.ParentFolderId.Id != "ASUAdT==" || c.LegacyFreeBusyStatus != ews.FreeBusyBusy ||
			c.MyResponseType != ews.ResponseOrganizer || c.Organizer.Name != "Bob" || c.Organizer.EmailAddress != "someone@example.com" ||
			!c.Start.Equal(mustTime("2006-06-16T00:30:00Z")) || c.End.Sub(c.Start) != 30*time.Minute || c.AppointmentState != 0 || c.Sensitivity != ews.SensitivityNormal {
			t.Errorf("item = %+v", c)
		}
	},
	"getitem-calendaritem-response-exchange-online.xml": func(t *testing.T, env *ewswire.Envelope) {
		items, err := env.Body.(*ewswire.GetItemResponse).ResponseMessages.Messages[0].Items.CalendarItems()
		if err != nil || len(items) != 1 || items[0].Subject != "Test Get Item 2" || items[0].Organizer.MailboxType != "Mailbox" || !items[0].IsResponseRequested ||
			items[0].UID != "040000008200E00074C5B7101A82E008000000005BF26DCD7C87D601000000000000000010000000E0535FAE67E4694A9A6DA9CEE56E079B" {
			t.Errorf("items = %+v, %v", items, err)
		}
		if v := env.Header.ServerVersionInfo; v.MajorVersion != 15 || v.MinorVersion != 20 || v.Version != "V2018_01_08" {
			t.Errorf("version = %+v", v)
		}
	},
	"getstreamingevents-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		r := env.Body.(*ewswire.GetStreamingEvents)
		if len(r.SubscriptionIds.SubscriptionId) != 1 || r.ConnectionTimeout != 30 {
			t.Errorf("GetStreamingEvents = %+v", r)
		}
	},
	"getstreamingevents-response-notification.xml": func(t *testing.T, env *ewswire.Envelope) {
		m := env.Body.(*ewswire.GetStreamingEventsResponse).ResponseMessages.Messages[0]
		all := m.Notifications.All()
		if len(all) != 1 || len(m.Notifications.MNotification) != 1 {
			t.Fatalf("notifications = %+v (m:Notification must be accepted)", m.Notifications)
		}
		n, err := all[0].ToEWS()
		if err != nil || n.SubscriptionId != "JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAADwXxVesOnHS5BxUHKwAW88SHjwd1iB0Ag=" || len(n.Events) != 3 ||
			n.Events[0].Type != ews.EventCreated || n.Events[1].Type != ews.EventNewMail || n.Events[2].Type != ews.EventModified ||
			n.Events[2].FolderId == nil || n.Events[2].UnreadCount != 1 || n.Events[0].UnreadCount != -1 || n.Events[0].Watermark != "" {
			t.Errorf("notification = %+v, %v", n, err)
		}
	},
	"getuseravailability-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		r := env.Body.(*ewswire.GetUserAvailabilityRequest)
		md := r.MailboxDataArray.MailboxData
		if len(md) != 2 || md[1].Email.Address != "sadie@contoso.com" || md[0].AttendeeType != "Organizer" || r.FreeBusyViewOptions.MergedFreeBusyIntervalInMinutes != 30 ||
			r.FreeBusyViewOptions.RequestedView != "FreeBusy" || r.FreeBusyViewOptions.TimeWindow.StartTime.Format("2006-01-02T15:04") != "2014-02-13T00:00" {
			t.Errorf("request = %+v", r)
		}
		if env.Header.TimeZoneContext.Definition.Id != "Pacific Standard Time" || len(env.Header.TimeZoneContext.Definition.Extra) == 0 {
			t.Errorf("time zone context = %+v", env.Header.TimeZoneContext)
		}
	},
	"getuseravailability-response.xml": func(t *testing.T, env *ewswire.Envelope) {
		list := env.Body.(*ewswire.GetUserAvailabilityResponse).FreeBusyResponseArray.FreeBusyResponse
		if len(list) != 2 {
			t.Fatalf("responses = %d", len(list))
		}
		v, err := list[0].FreeBusyView.ToEWS()
		if err != nil || v.ViewType != ews.ViewFreeBusy || len(v.CalendarEvents) != 2 || v.CalendarEvents[1].BusyType != ews.FreeBusyBusy ||
			v.CalendarEvents[1].StartTime.Format("15:04") != "11:00" || v.WorkingHours == nil || v.WorkingHours.TimeZone.Bias != 480 ||
			v.WorkingHours.TimeZone.Daylight.Bias != -60 || len(v.WorkingHours.Periods[0].DaysOfWeek) != 5 || v.WorkingHours.Periods[0].EndTimeInMinutes != 1020 {
			t.Errorf("view = %+v, %v", v, err)
		}
		if err := list[1].ResponseMessage.Err("GetUserAvailability", 1); err != nil {
			t.Errorf("second message = %v", err)
		}
	},
	"getuseroofsettings-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		if r := env.Body.(*ewswire.GetUserOofSettingsRequest); r.Mailbox.Address == "" {
			t.Errorf("request = %+v", r)
		}
	},
	"getuseroofsettings-response.xml": func(t *testing.T, env *ewswire.Envelope) {
		s, err := env.Body.(*ewswire.GetUserOofSettingsResponse).ToEWS()
		if err != nil || s.State != ews.OofDisabled || s.ExternalAudience != ews.AudienceAll || s.AllowExternalOof != "All" ||
			!s.Start.Equal(mustTime("2006-11-03T23:00:00Z")) || s.ExternalReply != "I am out of office. This is my external reply." || s.ActiveAt(s.Start.Add(time.Hour)) {
			t.Errorf("settings = %+v, %v", s, err)
		}
	},
	"subscribe-pull-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		p := env.Body.(*ewswire.Subscribe).Pull
		if p == nil || p.Timeout != 5 || len(p.EventTypes.EventType) != 6 || (*p.FolderIds)[0].Id != "inbox" || !(*p.FolderIds)[0].Distinguished ||
			env.Header.RequestServerVersion.Version != "Exchange2016" {
			t.Errorf("pull = %+v", p)
		}
	},
	"subscribe-pull-response.xml": func(t *testing.T, env *ewswire.Envelope) {
		m := env.Body.(*ewswire.SubscribeResponse).ResponseMessages.Messages[0]
		if m.SubscriptionId != "39ea5d0f-f062-455e-a1e9-89c0304390f4" || m.Watermark != "AAAAAHgGAAAAAAAAAQ==" || m.Err("Subscribe", -1) != nil {
			t.Errorf("message = %+v", m)
		}
	},
	"subscribe-streaming-request-impersonation.xml": func(t *testing.T, env *ewswire.Envelope) {
		s := env.Body.(*ewswire.Subscribe).Streaming
		sid, _ := env.Header.Impersonation.ToEWS()
		if s == nil || s.EventTypes.EventType[0] != "NewMailEvent" || sid.Value != "alfred@contoso.com" {
			t.Errorf("streaming = %+v", s)
		}
	},
	"subscribe-streaming-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		if s := env.Body.(*ewswire.Subscribe).Streaming; s == nil || s.FolderIds == nil || len(*s.FolderIds) == 0 {
			t.Errorf("streaming = %+v", s)
		}
	},
	"subscribe-streaming-response.xml": func(t *testing.T, env *ewswire.Envelope) {
		m := env.Body.(*ewswire.SubscribeResponse).ResponseMessages.Messages[0]
		if m.SubscriptionId != "JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAADwXxVesOnHS5BxUHKwAW88SHjwd1iB0Ag=" || m.Watermark != "" {
			t.Errorf("message = %+v", m)
		}
	},
	"syncfolderitems-request-initial.xml": func(t *testing.T, env *ewswire.Envelope) {
		r := env.Body.(*ewswire.SyncFolderItems)
		if r.SyncFolderId.Ref.Id != "inbox" || r.MaxChangesReturned != 10 || r.SyncState != "" || r.SyncScope != "NormalItems" {
			t.Errorf("request = %+v", r)
		}
	},
	"syncfolderitems-response-calendar-create-exchange-online.xml": func(t *testing.T, env *ewswire.Envelope) {
		m := env.Body.(*ewswire.SyncFolderItemsResponse).ResponseMessages.Messages[0]
		if m.Changes == nil || len(*m.Changes) != 1 || !*m.IncludesLastItemInRange || len(m.SyncState) < 100 {
			t.Fatalf("message = %+v", m)
		}
		ch := (*m.Changes)[0]
		c, err := ch.CalendarItem.ToEWS()
		if err != nil || ch.Kind != "Create" || c.Subject != "Test Sync Item Changes" || !c.Start.Equal(mustTime("2020-09-10T14:15:11Z")) || c.CalendarItemType != ews.ItemTypeSingle {
			t.Errorf("change = %+v, %v", c, err)
		}
	},
	"unsubscribe-request.xml": func(t *testing.T, env *ewswire.Envelope) {
		if r := env.Body.(*ewswire.Unsubscribe); r.SubscriptionId == "" {
			t.Errorf("request = %+v", r)
		}
	},
	"unsubscribe-response.xml": func(t *testing.T, env *ewswire.Envelope) {
		if m := env.Body.(*ewswire.UnsubscribeResponse).ResponseMessages.Messages; len(m) != 1 || m[0].Err("Unsubscribe", -1) != nil {
			t.Errorf("messages = %+v", m)
		}
	},
}

// TestSamplesDecode decodes every sample of testdata/ews-samples (real
// messages, kept unchanged with their provenance in SOURCES.md) and asserts
// its field values.
func TestSamplesDecode(t *testing.T) {
	for _, path := range samplePaths(t) {
		name := filepath.Base(path)
		check, ok := sampleChecks[name]
		if !ok {
			t.Errorf("sample %s has no field assertions: add one to sampleChecks", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			env, err := ewswire.DecodeEnvelope(bytes.NewReader(readSample(t, name)), ewswire.DefaultLimits, ewswire.NewMessage)
			if err != nil {
				t.Fatalf("DecodeEnvelope() = %v", err)
			}
			check(t, env)
		})
	}
}
