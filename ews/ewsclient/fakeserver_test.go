package ewsclient_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// fakeEWS is a tiny EWS server built on the shared codec: it decodes every
// request with ewswire.DecodeRequest and answers each operation with a
// fixed, schema-valid response. It records requests and responses.
type fakeEWS struct {
	t  testing.TB
	mu sync.Mutex
	// requests and responses hold the raw envelopes, in order.
	requests  [][]byte
	responses [][]byte
	headers   []http.Header
	// override, when set, answers instead of the default handler.
	override func(w http.ResponseWriter, env *ewswire.Envelope) bool
}

var testStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func (f *fakeEWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, body)
	f.headers = append(f.headers, r.Header.Clone())
	override := f.override
	f.mu.Unlock()
	env, err := ewswire.DecodeRequest(bytes.NewReader(body), ewswire.DefaultLimits)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = ewswire.EncodeFault(w, ewswire.NewFault(ews.ErrorSchemaValidation, err.Error(), nil))
		return
	}
	if override != nil && override(w, env) {
		return
	}
	if _, ok := env.Body.(*ewswire.GetStreamingEvents); ok {
		f.stream(w, env)
		return
	}
	resp := f.answer(env)
	if resp == nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = ewswire.EncodeFault(w, ewswire.NewFault(ews.ErrorInvalidRequest, "unsupported "+env.BodyName.Local, nil))
		return
	}
	var buf bytes.Buffer
	h := &ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 2, MajorBuildNumber: 1544, MinorBuildNumber: 4, Version: "V2017_07_11"}}
	if _, ok := resp.(*ewswire.GetUserSettingsResponseMessage); ok {
		h = nil
	}
	if err := ewswire.EncodeEnvelope(&buf, h, resp); err != nil {
		f.t.Errorf("encode response: %v", err)
	}
	f.mu.Lock()
	f.responses = append(f.responses, buf.Bytes())
	f.mu.Unlock()
	if _, ok := env.Body.(*ewswire.Subscribe); ok {
		http.SetCookie(w, &http.Cookie{Name: ewsclient.BackEndCookieName, Value: "MBX01.contoso.com~1941996295", HttpOnly: true})
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func sampleItem(i int) ews.CalendarItem {
	return ews.CalendarItem{
		ItemId:               ews.ItemId{Id: fmt.Sprintf("AAMkItem%04d", i), ChangeKey: "DwAAAB"},
		ParentFolderId:       ews.FolderId{Id: "AQMkCal", ChangeKey: "AQAAAA=="},
		ItemClass:            "IPM.Appointment",
		Subject:              fmt.Sprintf("Meeting %d", i),
		Sensitivity:          ews.SensitivityNormal,
		UID:                  fmt.Sprintf("040000008200E00074C5B7101A82E008%04d", i),
		Start:                testStart.Add(time.Duration(i) * time.Hour),
		End:                  testStart.Add(time.Duration(i)*time.Hour + 30*time.Minute),
		LegacyFreeBusyStatus: ews.FreeBusyBusy,
		Location:             "Room 1",
		IsMeeting:            true,
		CalendarItemType:     ews.ItemTypeSingle,
		MyResponseType:       ews.ResponseOrganizer,
		Organizer:            &ews.Mailbox{Name: "Alice", EmailAddress: "alice@contoso.com", RoutingType: "SMTP"},
		AppointmentState:     ews.AppointmentMeeting,
		StartTimeZone:        "W. Europe Standard Time",
		EndTimeZone:          "W. Europe Standard Time",
	}
}

func (f *fakeEWS) answer(env *ewswire.Envelope) any {
	ok := ewswire.Success()
	switch req := env.Body.(type) {
	case *ewswire.GetFolder:
		r := &ewswire.GetFolderResponse{}
		for range req.FolderIds {
			r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, ewswire.FolderInfoResponseMessage{ResponseMessage: ok,
				Folders: ewswire.Folders{ewswire.FolderFrom(ews.Folder{Kind: "CalendarFolder", FolderId: ews.FolderId{Id: "AQMkCal", ChangeKey: "AgAAAA=="}, FolderClass: "IPF.Appointment", DisplayName: "Calendar", TotalCount: 2})}})
		}
		return r
	case *ewswire.FindItem:
		r := &ewswire.FindItemResponse{}
		root := &ewswire.FindItemRootFolder{TotalItemsInView: 3, IncludesLastItemInRange: false, Items: *ewswire.ItemsOf([]ews.CalendarItem{sampleItem(1), sampleItem(2)})}
		r.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: ok, RootFolder: root}}
		return r
	case *ewswire.GetItem:
		r := &ewswire.GetItemResponse{}
		for i, id := range req.ItemIds {
			if id.Id == "missing" {
				r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, ewswire.ItemInfoResponseMessage{ResponseMessage: ewswire.ErrorResponseMessage(
					&ews.ResponseError{Code: ews.ErrorItemNotFound, MessageText: "The specified object was not found in the store."})})
				continue
			}
			it := sampleItem(i)
			it.Recurrence = &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Monday, ews.Wednesday}, FirstDayOfWeek: ews.Monday},
				Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: ews.Date{Year: 2026, Month: 3, Day: 2}, NumberOfOccurrences: 10}}
			it.CalendarItemType = ews.ItemTypeRecurringMaster
			it.ModifiedOccurrences = []ews.OccurrenceInfo{{ItemId: ews.ItemId{Id: "occ1"}, Start: testStart.Add(48 * time.Hour), End: testStart.Add(49 * time.Hour), OriginalStart: testStart.Add(48 * time.Hour)}}
			it.DeletedOccurrences = []ews.DeletedOccurrence{{Start: testStart.Add(7 * 24 * time.Hour)}}
			r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, ewswire.ItemInfoResponseMessage{ResponseMessage: ok, Items: *ewswire.ItemsOf([]ews.CalendarItem{it})})
		}
		return r
	case *ewswire.SyncFolderItems:
		r := &ewswire.SyncFolderItemsResponse{}
		item := ewswire.CalendarItemFrom(sampleItem(7))
		yes := true
		r.ResponseMessages.Messages = []ewswire.SyncFolderItemsResponseMessage{{ResponseMessage: ok, SyncState: "H4sIAAAA-state-2", IncludesLastItemInRange: &yes,
			Changes: &ewswire.SyncChanges{{Kind: "Create", CalendarItem: item, ItemId: item.ItemId}, {Kind: "Delete", ItemId: &ewswire.ItemId{Id: "gone", ChangeKey: "x"}}}}}
		return r
	case *ewswire.CreateItem:
		r := &ewswire.CreateItemResponse{}
		for i := range req.Items.CalendarItem {
			r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, ewswire.ItemInfoResponseMessage{ResponseMessage: ok,
				Items: ewswire.Items{CalendarItem: []ewswire.CalendarItem{{ItemId: &ewswire.ItemId{Id: fmt.Sprintf("new%d", i), ChangeKey: "ck1"}}}}})
		}
		return r
	case *ewswire.UpdateItem:
		r := &ewswire.UpdateItemResponse{}
		for i := range req.ItemChanges.ItemChange {
			r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, ewswire.UpdateItemResponseMessage{ResponseMessage: ok,
				Items: ewswire.Items{CalendarItem: []ewswire.CalendarItem{{ItemId: &ewswire.ItemId{Id: fmt.Sprintf("upd%d", i), ChangeKey: "ck2"}}}}})
		}
		return r
	case *ewswire.DeleteItem:
		r := &ewswire.DeleteItemResponse{}
		for range req.ItemIds {
			r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, ok)
		}
		return r
	case *ewswire.Subscribe:
		r := &ewswire.SubscribeResponse{}
		m := ewswire.SubscribeResponseMessage{ResponseMessage: ok, SubscriptionId: "JgBtYnguY29udG9zby5jb20QAAAA"}
		if req.Streaming == nil {
			m.Watermark = "AQAAAEi+watermark1"
		}
		r.ResponseMessages.Messages = []ewswire.SubscribeResponseMessage{m}
		return r
	case *ewswire.GetEvents:
		r := &ewswire.GetEventsResponse{}
		n := ewswire.NotificationFrom(ews.Notification{SubscriptionId: req.SubscriptionId, PreviousWatermark: req.Watermark, Events: []ews.Event{
			{Type: ews.EventCreated, Watermark: "wm2", TimeStamp: testStart, ItemId: &ews.ItemId{Id: "i1", ChangeKey: "c1"}, ParentFolderId: &ews.FolderId{Id: "f1"}, UnreadCount: -1},
			{Type: ews.EventStatus, Watermark: "wm3", UnreadCount: -1},
		}})
		r.ResponseMessages.Messages = []ewswire.GetEventsResponseMessage{{ResponseMessage: ok, Notification: n}}
		return r
	case *ewswire.Unsubscribe:
		r := &ewswire.UnsubscribeResponse{}
		r.ResponseMessages.Messages = []ewswire.ResponseMessage{ok}
		return r
	case *ewswire.GetUserAvailabilityRequest:
		r := &ewswire.GetUserAvailabilityResponse{}
		for range req.MailboxDataArray.MailboxData {
			okCopy := ok
			r.FreeBusyResponseArray.FreeBusyResponse = append(r.FreeBusyResponseArray.FreeBusyResponse, ewswire.FreeBusyResponse{ResponseMessage: &okCopy,
				FreeBusyView: ewswire.FreeBusyViewFrom(ews.FreeBusyView{ViewType: ews.ViewFreeBusyMerged, MergedFreeBusy: "0024",
					CalendarEvents: []ews.CalendarEvent{{StartTime: testStart, EndTime: testStart.Add(time.Hour), BusyType: ews.FreeBusyBusy}}})})
		}
		return r
	case *ewswire.GetUserOofSettingsRequest:
		return ewswire.OofResponseFrom(ews.OofSettings{State: ews.OofScheduled, ExternalAudience: ews.AudienceAll, Start: testStart, End: testStart.Add(72 * time.Hour), InternalReply: "Away"})
	case *ewswire.GetUserSettingsRequestMessage:
		r := &ewswire.GetUserSettingsResponseMessage{}
		r.Response.ErrorCode = "NoError"
		for _, mb := range req.Mailboxes() {
			u := ewswire.UserResponse{ErrorCode: "NoError"}
			u.SetSettings(map[string]string{
				ewsclient.SettingExternalEwsURL:      "https://mail.contoso.com/EWS/Exchange.asmx",
				ewsclient.SettingInternalEwsURL:      "https://mbx01.contoso.local/EWS/Exchange.asmx",
				ewsclient.SettingGroupingInformation: "Site-" + mb[:1],
			}, ewsclient.DefaultAutodiscoverSettings)
			r.Response.UserResponses.UserResponse = append(r.Response.UserResponses.UserResponse, u)
		}
		return r
	}
	return nil
}

// stream writes a heartbeat, a notification, a subscription error and a
// Closed status, one envelope each.
func (f *fakeEWS) stream(w http.ResponseWriter, env *ewswire.Envelope) {
	req := env.Body.(*ewswire.GetStreamingEvents)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	var rec bytes.Buffer
	sw := ewswire.NewStreamWriter(io.MultiWriter(w, &rec), nil).SchemaNamespace() // the recording is validated
	flush := func() {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	ids := req.SubscriptionIds.SubscriptionId
	_ = sw.Write(ewswire.ConnectionStatusMessage(ews.ConnectionOK))
	flush()
	_ = sw.Write(ewswire.NotificationsMessage(ews.Notification{SubscriptionId: ids[0], Events: []ews.Event{
		{Type: ews.EventModified, TimeStamp: testStart, ItemId: &ews.ItemId{Id: "i9", ChangeKey: "c9"}, ParentFolderId: &ews.FolderId{Id: "f1"}, UnreadCount: -1}}}))
	flush()
	if len(ids) > 1 {
		_ = sw.Write(ewswire.SubscriptionErrorMessage(&ews.ResponseError{Code: ews.ErrorSubscriptionNotFound, MessageText: "gone"}, ids[1:]...))
		flush()
	}
	_ = sw.Write(ewswire.ConnectionStatusMessage(ews.ConnectionClosed))
	f.mu.Lock()
	f.responses = append(f.responses, rec.Bytes())
	f.mu.Unlock()
}

// newFake starts the fake server and a client for it.
func newFake(t *testing.T, opts *ewsclient.Options) (*fakeEWS, *ewsclient.Client, *httptest.Server) {
	t.Helper()
	f := &fakeEWS{t: t}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	if opts == nil {
		opts = &ewsclient.Options{}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = srv.Client()
	}
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", opts)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return f, c, srv
}
