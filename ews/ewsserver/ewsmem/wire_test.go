package ewsmem_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/ewsschema"
)

const soapStart = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">`

// envelope builds a request with RequestServerVersion and impersonation.
func envelope(version, impersonate, body string) string {
	h := ""
	if version != "" {
		h += `<t:RequestServerVersion Version="` + version + `"/>`
	}
	if impersonate != "" {
		h += `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>` + impersonate + `</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
	}
	return soapStart + `<s:Header>` + h + `</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
}

type wireEnv struct {
	t     *testing.T
	sim   *ewssim.Simulator
	srv   *httptest.Server
	clock *clock.Fake
}

func newWireEnv(t *testing.T, opts ewssim.Options) *wireEnv {
	t.Helper()
	fc := clock.NewFake(t0)
	opts.Clock = fc
	if opts.Mailboxes == 0 {
		opts.Mailboxes = 3
	}
	sim, err := ewssim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return &wireEnv{t: t, sim: sim, srv: srv, clock: fc}
}

// post sends an EWS request as the service account and returns status and body.
func (e *wireEnv) post(body string, header ...string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/EWS/Exchange.asmx", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.SetBasicAuth(e.sim.ServiceAccount(), "password")
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// decode parses a response envelope into v (or returns the fault).
func decode(t *testing.T, data []byte, v any) *ewswire.Fault {
	t.Helper()
	env, err := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.DefaultLimits, ewswire.Expect(v))
	if err != nil {
		t.Fatalf("DecodeEnvelope() = %v\n%s", err, data)
	}
	return env.Fault()
}

func firstCode(msgs ...ewswire.ResponseMessage) string {
	if len(msgs) == 0 {
		return ""
	}
	return msgs[0].ResponseCode
}

func TestWireOperationsValidate(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	user := "user1@example.com"
	master, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "Weekly", StartTimeZone: "W. Europe Standard Time", IsMeeting: true,
		Start: t0.Add(2 * time.Hour), End: t0.Add(3 * time.Hour), RequiredAttendees: []ews.Attendee{{Mailbox: ews.Mailbox{Name: "User 2", EmailAddress: "user2@example.com"}, ResponseType: ews.ResponseAccept}},
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Monday, ews.Wednesday}},
			Range: ews.RecurrenceRange{Kind: ews.RangeEndDate, StartDate: ews.DateOf(t0), EndDate: ews.DateOf(t0.AddDate(0, 2, 0))}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.ModifyOccurrence(user, master.Id, 2, ews.CalendarItem{Subject: "Weekly (moved)", Start: t0.AddDate(0, 0, 2).Add(5 * time.Hour), End: t0.AddDate(0, 0, 2).Add(6 * time.Hour), LegacyFreeBusyStatus: ews.FreeBusyTentative}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "Offsite", StartTimeZone: "Pacific Standard Time", IsAllDayEvent: true, Start: t0.AddDate(0, 0, 3), End: t0.AddDate(0, 0, 4), LegacyFreeBusyStatus: ews.FreeBusyOOF, Sensitivity: ews.SensitivityPrivate}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetOOF(user, ews.OofSettings{State: ews.OofScheduled, Start: t0, End: t0.Add(48 * time.Hour), InternalReply: "away"}); err != nil {
		t.Fatal(err)
	}
	week := fmt.Sprintf(`StartDate="%s" EndDate="%s"`, t0.Format(time.RFC3339), t0.AddDate(0, 0, 7).Format(time.RFC3339))
	calendar := `<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds>`
	tests := []struct {
		name       string
		body       string
		wantStatus int
		check      func(t *testing.T, data []byte)
	}{
		{"GetFolder", envelope("Exchange2013_SP1", user, `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/><t:DistinguishedFolderId Id="root"/></m:FolderIds></m:GetFolder>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.GetFolderResponse
				decode(t, data, &r)
				if n := len(r.ResponseMessages.Messages); n != 2 || r.ResponseMessages.Messages[0].ResponseCode != "NoError" {
					t.Errorf("GetFolder messages = %+v", r.ResponseMessages.Messages)
				}
			}},
		{"FindItem CalendarView", envelope("Exchange2013_SP1", user, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:CalendarView `+week+`/>`+calendar+`</m:FindItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.FindItemResponse
				decode(t, data, &r)
				m := r.ResponseMessages.Messages[0]
				truth, _ := e.sim.Occurrences(user, t0, t0.AddDate(0, 0, 7))
				if m.RootFolder == nil || len(m.RootFolder.Items.CalendarItem) != len(truth) || len(truth) != 3 {
					t.Fatalf("CalendarView returned %+v, ground truth has %d", m.RootFolder, len(truth))
				}
				for i, it := range m.RootFolder.Items.CalendarItem {
					got, err := it.ToEWS()
					if err != nil {
						t.Fatal(err)
					}
					if got.Subject != truth[i].Subject || !got.Start.Equal(truth[i].Start) || got.CalendarItemType != truth[i].CalendarItemType {
						t.Errorf("item %d = %s %s %s, want %s %s %s", i, got.Subject, got.Start, got.CalendarItemType, truth[i].Subject, truth[i].Start, truth[i].CalendarItemType)
					}
				}
			}},
		{"FindItem CalendarView truncated", envelope("Exchange2013_SP1", user, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView MaxEntriesReturned="1" `+week+`/>`+calendar+`</m:FindItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.FindItemResponse
				decode(t, data, &r)
				rf := r.ResponseMessages.Messages[0].RootFolder
				if rf == nil || rf.IncludesLastItemInRange || rf.TotalItemsInView != 3 || len(rf.Items.CalendarItem) != 1 {
					t.Errorf("truncated view = %+v", rf)
				}
			}},
		{"FindItem range too big", envelope("Exchange2013_SP1", user, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-01-01T00:00:00Z" EndDate="2029-01-01T00:00:00Z"/>`+calendar+`</m:FindItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.FindItemResponse
				decode(t, data, &r)
				if c := r.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorCalendarViewRangeTooBig) {
					t.Errorf("code = %s", c)
				}
			}},
		{"FindItem paged masters", envelope("Exchange2013_SP1", user, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="1" Offset="0" BasePoint="Beginning"/>`+calendar+`</m:FindItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.FindItemResponse
				decode(t, data, &r)
				rf := r.ResponseMessages.Messages[0].RootFolder
				if rf == nil || rf.IncludesLastItemInRange || rf.TotalItemsInView != 2 || rf.IndexedPagingOffset == nil || *rf.IndexedPagingOffset != 1 {
					t.Errorf("paged view = %+v", rf)
				}
			}},
		{"GetItem master and bad id", envelope("Exchange2013_SP1", user, `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+master.Id+`"/><t:ItemId Id="bm90LWFuLWlk"/><t:OccurrenceItemId RecurringMasterId="`+master.Id+`" InstanceIndex="2"/></m:ItemIds></m:GetItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.GetItemResponse
				decode(t, data, &r)
				ms := r.ResponseMessages.Messages
				if len(ms) != 3 || ms[0].ResponseCode != "NoError" || ms[1].ResponseCode != string(ews.ErrorInvalidIdMalformed) || ms[2].ResponseCode != "NoError" {
					t.Fatalf("GetItem codes = %s %s %s", firstCode(ms[0].ResponseMessage), firstCode(ms[1].ResponseMessage), firstCode(ms[2].ResponseMessage))
				}
				got, err := ms[0].Items.CalendarItem[0].ToEWS()
				if err != nil || got.Recurrence == nil || len(got.ModifiedOccurrences) != 1 || len(got.RequiredAttendees) != 1 {
					t.Errorf("master = %+v, %v", got, err)
				}
			}},
		{"SyncFolderItems", envelope("Exchange2013_SP1", user, `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.SyncFolderItemsResponse
				decode(t, data, &r)
				m := r.ResponseMessages.Messages[0]
				if m.Changes == nil || len(*m.Changes) != 2 || m.SyncState == "" {
					t.Errorf("sync = %+v", m)
				}
			}},
		{"SyncFolderItems bad state", envelope("Exchange2013_SP1", user, `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:SyncState>H4sIAAA=</m:SyncState><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.SyncFolderItemsResponse
				decode(t, data, &r)
				if c := r.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorInvalidSyncStateData) {
					t.Errorf("code = %s", c)
				}
			}},
		{"CreateItem", envelope("Exchange2013_SP1", user, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Created</t:Subject><t:Start>2026-03-04T10:00:00Z</t:Start><t:End>2026-03-04T11:00:00Z</t:End><t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus></t:CalendarItem></m:Items></m:CreateItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.CreateItemResponse
				decode(t, data, &r)
				m := r.ResponseMessages.Messages[0]
				if m.ResponseCode != "NoError" || len(m.Items.CalendarItem) != 1 {
					t.Errorf("create = %+v", m)
				}
			}},
		{"CreateItem recurring in a time zone", envelope("Exchange2013_SP1", user, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Biweekly</t:Subject><t:Recurrence><t:WeeklyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Tuesday Thursday</t:DaysOfWeek><t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-02</t:StartDate><t:NumberOfOccurrences>6</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence><t:Start>2026-03-03T08:00:00Z</t:Start><t:End>2026-03-03T08:30:00Z</t:End><t:StartTimeZone Id="W. Europe Standard Time"/></t:CalendarItem></m:Items></m:CreateItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.CreateItemResponse
				decode(t, data, &r)
				m := r.ResponseMessages.Messages[0]
				if m.ResponseCode != "NoError" || len(m.Items.CalendarItem) != 1 {
					t.Fatalf("create = %+v", m)
				}
				var got []string
				occ, _ := e.sim.Occurrences(user, t0, t0.AddDate(0, 1, 0))
				for _, o := range occ {
					if o.Subject == "Biweekly" {
						got = append(got, o.Start.Format("01-02 15:04"))
					}
				}
				// 09:00 Berlin: 08:00 UTC before the DST change on 29 March, 07:00 after.
				want := []string{"03-03 08:00", "03-05 08:00", "03-17 08:00", "03-19 08:00", "03-31 07:00", "04-02 07:00"}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("occurrences = %v, want %v", got, want)
				}
			}},
		{"CreateItem end before start", envelope("Exchange2013_SP1", user, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Bad</t:Subject><t:Start>2026-03-04T10:00:00Z</t:Start><t:End>2026-03-04T09:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.CreateItemResponse
				decode(t, data, &r)
				if c := r.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorCalendarEndDateIsEarlierThanStartDate) {
					t.Errorf("code = %s", c)
				}
			}},
		{"UpdateItem stale change key", envelope("Exchange2013_SP1", user, `<m:UpdateItem ConflictResolution="NeverOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+master.Id+`" ChangeKey="stale"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.UpdateItemResponse
				decode(t, data, &r)
				if c := r.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorIrresolvableConflict) {
					t.Errorf("code = %s", c)
				}
			}},
		{"DeleteItem unknown", envelope("Exchange2013_SP1", user, `<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="QUFNa0k6MTo5OQ=="/></m:ItemIds></m:DeleteItem>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.DeleteItemResponse
				decode(t, data, &r)
				if c := r.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorItemNotFound) {
					t.Errorf("DeleteItem(unknown id) = %s", c)
				}
			}},
		{"GetUserOofSettings", envelope("Exchange2013_SP1", user, `<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>`+user+`</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.GetUserOofSettingsResponse
				decode(t, data, &r)
				s, err := r.ToEWS()
				if err != nil || s.State != ews.OofScheduled || !s.Start.Equal(t0) {
					t.Errorf("oof = %+v, %v", s, err)
				}
			}},
		{"GetUserAvailability", envelope("Exchange2013_SP1", "", `<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>-60</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>03:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>10</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone><m:MailboxDataArray><t:MailboxData><t:Email><t:Address>`+user+`</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData><t:MailboxData><t:Email><t:Address>ghost@example.com</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2026-03-02T00:00:00</t:StartTime><t:EndTime>2026-03-05T00:00:00</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>DetailedMerged</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.GetUserAvailabilityResponse
				decode(t, data, &r)
				fr := r.FreeBusyResponseArray.FreeBusyResponse
				if len(fr) != 2 || fr[0].FreeBusyView == nil || fr[1].ResponseMessage.ResponseCode != string(ews.ErrorMailRecipientNotFound) {
					t.Fatalf("availability = %+v", fr)
				}
				v, err := fr[0].FreeBusyView.ToEWS()
				if err != nil || len(v.MergedFreeBusy) != 72 || len(v.CalendarEvents) == 0 {
					t.Fatalf("view = %+v, %v", v, err)
				}
				// 10:00 UTC on 2 March is 11:00 in Berlin (standard time): the
				// weekly meeting's first occurrence.
				if got := v.CalendarEvents[0].StartTime.Format("15:04"); got != "11:00" {
					t.Errorf("first event starts %s local, want 11:00", got)
				}
			}},
		{"Subscribe pull", envelope("Exchange2013_SP1", user, `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.SubscribeResponse
				decode(t, data, &r)
				m := r.ResponseMessages.Messages[0]
				if m.SubscriptionId == "" || m.Watermark == "" {
					t.Fatalf("subscribe = %+v", m)
				}
				_, data2 := e.post(envelope("Exchange2013_SP1", user, `<m:GetEvents><m:SubscriptionId>`+m.SubscriptionId+`</m:SubscriptionId><m:Watermark>`+m.Watermark+`</m:Watermark></m:GetEvents>`), "X-AnchorMailbox", user)
				ewsschema.Validate(t, "GetEvents", data2)
				var g ewswire.GetEventsResponse
				decode(t, data2, &g)
				if n := g.ResponseMessages.Messages[0].Notification; n == nil || len(n.Events) != 1 || n.Events[0].Type != "StatusEvent" {
					t.Errorf("GetEvents = %+v", g.ResponseMessages.Messages[0])
				}
				_, data3 := e.post(envelope("Exchange2013_SP1", user, `<m:Unsubscribe><m:SubscriptionId>`+m.SubscriptionId+`</m:SubscriptionId></m:Unsubscribe>`), "X-AnchorMailbox", user)
				ewsschema.Validate(t, "Unsubscribe", data3)
				_, data4 := e.post(envelope("Exchange2013_SP1", user, `<m:Unsubscribe><m:SubscriptionId>`+m.SubscriptionId+`</m:SubscriptionId></m:Unsubscribe>`), "X-AnchorMailbox", user)
				var u ewswire.UnsubscribeResponse
				decode(t, data4, &u)
				if c := u.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorSubscriptionNotFound) {
					t.Errorf("second Unsubscribe = %s", c)
				}
			}},
		{"GetServerTimeZones", envelope("Exchange2013_SP1", "", `<m:GetServerTimeZones ReturnFullTimeZoneData="true"><m:Ids><t:Id>W. Europe Standard Time</t:Id><t:Id>UTC</t:Id><t:Id>AUS Eastern Standard Time</t:Id></m:Ids></m:GetServerTimeZones>`), 200,
			func(t *testing.T, data []byte) {
				var r ewswire.GetServerTimeZonesResponse
				decode(t, data, &r)
				defs := r.ResponseMessages.Messages[0].TimeZoneDefinitions
				if len(defs.TimeZoneDefinition) != 3 {
					t.Fatalf("definitions = %+v", r.ResponseMessages.Messages[0])
				}
				g := defs.TimeZoneDefinition[0].TransitionsGroups.TransitionsGroup[0]
				if len(g.RecurringDayTransition) != 2 || g.RecurringDayTransition[0].Month != 3 || g.RecurringDayTransition[0].Occurrence != -1 || g.RecurringDayTransition[0].TimeOffset != "PT120M" {
					t.Errorf("Berlin transitions = %+v", g.RecurringDayTransition)
				}
				if p := defs.TimeZoneDefinition[0].Periods.Period; p[0].Bias != "-PT60M" || p[1].Bias != "-PT120M" {
					t.Errorf("Berlin periods = %+v", p)
				}
			}},
		{"fault impersonation denied", envelope("Exchange2013_SP1", "nobody@example.com", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`), 500,
			func(t *testing.T, data []byte) {
				var r ewswire.GetFolderResponse
				f := decode(t, data, &r)
				if f == nil || f.Detail.ResponseCode != string(ews.ErrorNonExistentMailbox) {
					t.Errorf("fault = %+v", f)
				}
			}},
		{"fault Exchange2019", envelope("Exchange2019", user, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`), 500,
			func(t *testing.T, data []byte) {
				var r ewswire.GetFolderResponse
				if f := decode(t, data, &r); f == nil || f.Detail.ResponseCode != string(ews.ErrorInvalidRequest) {
					t.Errorf("fault = %+v", f)
				}
			}},
		{"fault schema", soapStart + `<s:Body><m:GetItem><m:ItemShape>`, 500,
			func(t *testing.T, data []byte) {
				var r ewswire.GetItemResponse
				if f := decode(t, data, &r); f == nil || f.Detail.ResponseCode != string(ews.ErrorSchemaValidation) {
					t.Errorf("fault = %+v", f)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, data := e.post(tt.body, "X-AnchorMailbox", user)
			if status != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d\n%s", status, tt.wantStatus, data)
			}
			ewsschema.Validate(t, tt.name, data)
			tt.check(t, data)
		})
	}
}
