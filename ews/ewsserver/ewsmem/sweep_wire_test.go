package ewsmem_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
	"github.com/calsync/calsync/internal/testenv"
)

// sweep collects answers of the simulator and what they cover: per
// operation, whether a success and an error answer were seen.
type sweep struct {
	t       *testing.T
	e       *wireEnv
	names   []string // envelope n+1 of bodies is names[n]
	bodies  bytes.Buffer
	success map[string]bool
	failure map[string]bool
}

var sweepOp = regexp.MustCompile(`<s:Body><m:([A-Za-z]+)`)

// send posts one request as the service account impersonating user and
// records the answer.
func (s *sweep) send(name, user, body string) []byte {
	s.t.Helper()
	req := envelope("Exchange2013_SP1", user, body)
	status, data := s.e.post(req, "X-AnchorMailbox", user)
	op := sweepOp.FindStringSubmatch(req)[1]
	if op == "GetStreamingEvents" {
		s.record(name+" (in the schema's namespaces)", op, status, schemaStreamingForm(data))
	} else {
		s.record(name, op, status, data)
	}
	return data
}

var errorSubscriptionIDs = regexp.MustCompile(`<ErrorSubscriptionIds>.*?</ErrorSubscriptionIds>`)

// schemaStreamingForm rewrites a streaming body from Exchange's form (the
// documented deviation: Notification and ErrorSubscriptionIds/
// SubscriptionId in the messages namespace, inherited from the response
// element) to the schema's types namespace, changing nothing else.
func schemaStreamingForm(body []byte) []byte {
	types := []byte(`xmlns="` + ewswire.NSTypes + `"`)
	out := bytes.ReplaceAll(body, []byte("<Notification>"), append(append([]byte("<Notification "), types...), '>'))
	return errorSubscriptionIDs.ReplaceAllFunc(out, func(m []byte) []byte {
		return bytes.ReplaceAll(m, []byte("<SubscriptionId>"), append(append([]byte("<SubscriptionId "), types...), '>'))
	})
}

// record notes one answer (one or more envelopes).
func (s *sweep) record(name, op string, status int, data []byte) {
	s.t.Helper()
	n := bytes.Count(data, []byte("Envelope>")) // closing tags; start tags carry attributes
	if n == 0 {
		s.t.Fatalf("%s: HTTP %d without a SOAP envelope: %q", name, status, data)
	}
	for i := 0; i < n; i++ {
		s.names = append(s.names, fmt.Sprintf("%s (HTTP %d)", name, status))
	}
	// Every non-fault answer carries ServerVersionInfo, streamed envelopes
	// included.
	if status == 200 && bytes.Count(data, []byte("<ServerVersionInfo ")) != n {
		s.t.Errorf("%s: %d envelopes, %d with ServerVersionInfo", name, n, bytes.Count(data, []byte("<ServerVersionInfo ")))
	}
	s.bodies.Write(data)
	s.bodies.WriteByte('\n')
	if status == 500 || bytes.Contains(data, []byte(`ResponseClass="Error"`)) {
		s.failure[op] = true
	}
	if status == 200 && bytes.Contains(data, []byte(`ResponseClass="Success"`)) {
		s.success[op] = true
	}
}

// validate checks every recorded envelope at once; the report's file#N is
// the N-th name.
func (s *sweep) validate() {
	s.t.Helper()
	if err := ewsschema.Check(s.t, "sweep", s.bodies.Bytes()); err != nil {
		var idx strings.Builder
		for i, n := range s.names {
			fmt.Fprintf(&idx, "#%d %s\n", i+1, n)
		}
		s.t.Fatalf("answers fail the EWS schema:\n%v\nenvelopes:\n%s", err, idx.String())
	}
}

// TestEveryResponseValidates drives every operation the handler serves
// with a success and the typical errors, the request-level faults, every
// operation's error shape (through the internal-server-busy fault, which
// answers each operation with its own response holding one error), and a
// whole GetStreamingEvents body; every answer is validated against the EWS
// schema. The only deviation is Exchange's m:Notification in streaming
// answers, checked to be that and nothing else. An operation added to the
// handler without a success and an error case here fails the test.
func TestEveryResponseValidates(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	s := &sweep{t: t, e: e, success: map[string]bool{}, failure: map[string]bool{}}
	user := "user1@example.com"
	master, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "Weekly", StartTimeZone: "W. Europe Standard Time", IsMeeting: true,
		Start: t0.Add(2 * time.Hour), End: t0.Add(3 * time.Hour), Location: "Room 1",
		RequiredAttendees: []ews.Attendee{{Mailbox: ews.Mailbox{Name: "User 2", EmailAddress: "user2@example.com"}, ResponseType: ews.ResponseAccept}},
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Monday}},
			Range: ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: ews.DateOf(t0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.ModifyOccurrence(user, master.Id, 2, ews.CalendarItem{Subject: "Weekly (moved)", Start: t0.AddDate(0, 0, 8), End: t0.AddDate(0, 0, 8).Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteOccurrence(user, master.Id, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.SetTimeZone(user, "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetOOF(user, ews.OofSettings{State: ews.OofEnabled, InternalReply: "away", ExternalReply: "away", ExternalAudience: ews.AudienceAll}); err != nil {
		t.Fatal(err)
	}
	id := `<t:ItemId Id="` + master.Id + `"/>`
	calendar := `<t:DistinguishedFolderId Id="calendar"/>`
	shape := func(base string) string {
		return `<m:ItemShape><t:BaseShape>` + base + `</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="calendar:Start"/>` +
			`<t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33303" PropertyType="Integer"/></t:AdditionalProperties></m:ItemShape>`
	}
	week := `StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-16T00:00:00Z"`
	tz := `<t:TimeZone><t:Bias>0</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>1</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>1</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone>`
	availability := func(mailboxes ...string) string {
		var b strings.Builder
		for _, m := range mailboxes {
			b.WriteString(`<t:MailboxData><t:Email><t:Address>` + m + `</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData>`)
		}
		return `<m:GetUserAvailabilityRequest>` + tz + `<m:MailboxDataArray>` + b.String() + `</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2026-03-02T00:00:00</t:StartTime><t:EndTime>2026-03-04T00:00:00</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>30</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>Detailed</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`
	}
	pullSub := `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds>` + calendar + `</t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`
	streamSub := `<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds>` + calendar + `</t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>`
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("user%d@example.com", i%3+1)
	}

	// Successes, each operation at least once, in the shapes clients use.
	successes := []struct{ name, body string }{
		{"GetFolder", `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>` + calendar + `<t:DistinguishedFolderId Id="root"/><t:DistinguishedFolderId Id="msgfolderroot"/><t:DistinguishedFolderId Id="inbox"/><t:DistinguishedFolderId Id="contacts"/><t:DistinguishedFolderId Id="tasks"/></m:FolderIds></m:GetFolder>`},
		{"FindItem CalendarView", `<m:FindItem Traversal="Shallow">` + shape("Default") + `<m:CalendarView ` + week + `/><m:ParentFolderIds>` + calendar + `</m:ParentFolderIds></m:FindItem>`},
		{"FindItem IdOnly", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView MaxEntriesReturned="1" ` + week + `/><m:ParentFolderIds>` + calendar + `</m:ParentFolderIds></m:FindItem>`},
		{"FindItem IndexedPageItemView", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds>` + calendar + `</m:ParentFolderIds></m:FindItem>`},
		{"GetItem AllProperties", `<m:GetItem>` + shape("AllProperties") + `<m:ItemIds>` + id + `<t:OccurrenceItemId RecurringMasterId="` + master.Id + `" InstanceIndex="2"/><t:OccurrenceItemId RecurringMasterId="` + master.Id + `" InstanceIndex="1"/></m:ItemIds></m:GetItem>`},
		{"GetItem IdOnly", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>` + id + `</m:ItemIds></m:GetItem>`},
		{"SyncFolderItems", `<m:SyncFolderItems>` + shape("AllProperties") + `<m:SyncFolderId>` + calendar + `</m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`},
		{"SyncFolderItems inbox", `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`},
		{"CreateItem", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>` + calendar + `</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>New</t:Subject><t:Body BodyType="Text">b</t:Body><t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="x" PropertyType="StringArray"/><t:Values><t:Value>a</t:Value></t:Values></t:ExtendedProperty><t:Start>2026-03-04T10:00:00Z</t:Start><t:End>2026-03-04T11:00:00Z</t:End><t:IsAllDayEvent>false</t:IsAllDayEvent><t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus><t:Location>Room</t:Location></t:CalendarItem></m:Items></m:CreateItem>`},
		{"UpdateItem", `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>` + id + `<t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Weekly!</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`},
		{"GetUserAvailability", availability(user, "user2@example.com")},
		{"GetUserOofSettings", `<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>` + user + `</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`},
		{"Subscribe pull", pullSub},
		{"Subscribe streaming", streamSub},
		{"GetServerTimeZones", `<m:GetServerTimeZones ReturnFullTimeZoneData="true"><m:Ids><t:Id>W. Europe Standard Time</t:Id><t:Id>Pacific Standard Time</t:Id></m:Ids></m:GetServerTimeZones>`},
		{"GetServerTimeZones all", `<m:GetServerTimeZones ReturnFullTimeZoneData="false"/>`},
		{"ConvertId", `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="` + master.Id + `" Mailbox="` + user + `"/></m:SourceIds></m:ConvertId>`},
		{"GetMailTips", mailTipsBody(user, "user2@example.com", "nobody@example.com")},
		{"GetServiceConfiguration", `<m:GetServiceConfiguration><m:RequestedConfiguration><m:ConfigurationName>MailTips</m:ConfigurationName></m:RequestedConfiguration></m:GetServiceConfiguration>`},
		{"GetUserConfiguration", `<m:GetUserConfiguration><m:UserConfigurationName Name="OWA.UserOptions"><t:DistinguishedFolderId Id="root"/></m:UserConfigurationName><m:UserConfigurationProperties>All</m:UserConfigurationProperties></m:GetUserConfiguration>`},
	}
	for _, c := range successes {
		s.send(c.name, user, c.body)
	}
	var sub ewswire.SubscribeResponse
	decode(t, s.send("Subscribe pull for GetEvents", user, pullSub), &sub)
	pullID, watermark := sub.ResponseMessages.Messages[0].SubscriptionId, sub.ResponseMessages.Messages[0].Watermark
	if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "event", Start: t0, End: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s.send("GetEvents", user, `<m:GetEvents><m:SubscriptionId>`+pullID+`</m:SubscriptionId><m:Watermark>`+watermark+`</m:Watermark></m:GetEvents>`)
	s.send("Unsubscribe", user, `<m:Unsubscribe><m:SubscriptionId>`+pullID+`</m:SubscriptionId></m:Unsubscribe>`)
	s.send("DeleteItem", user, `<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="`+master.Id+`" InstanceIndex="4"/></m:ItemIds></m:DeleteItem>`)

	// Typical errors: response messages.
	errorsCases := []struct{ name, body string }{
		{"GetFolder unknown id", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:FolderId Id="AAMkAGU="/></m:FolderIds></m:GetFolder>`},
		{"FindItem range too big", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-01-01T00:00:00Z" EndDate="2029-01-01T00:00:00Z"/><m:ParentFolderIds>` + calendar + `</m:ParentFolderIds></m:FindItem>`},
		{"FindItem inbox", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView ` + week + `/><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`},
		{"GetItem errors", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="bm90LWFuLWlk"/><t:OccurrenceItemId RecurringMasterId="` + master.Id + `" InstanceIndex="3"/>` + id + `</m:ItemIds></m:GetItem>`},
		{"GetItem bad extended path", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:ExtendedFieldURI PropertyTag="0x8001" PropertyType="String"/></t:AdditionalProperties></m:ItemShape><m:ItemIds>` + id + `</m:ItemIds></m:GetItem>`},
		{"SyncFolderItems bad state", `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId>` + calendar + `</m:SyncFolderId><m:SyncState>H4sIAAA=</m:SyncState><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`},
		{"CreateItem errors", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Bad</t:Subject><t:Start>2026-03-04T10:00:00Z</t:Start><t:End>2026-03-04T09:00:00Z</t:End></t:CalendarItem><t:CalendarItem><t:Subject>Bad zone</t:Subject><t:Start>2026-03-04T10:00:00Z</t:Start><t:End>2026-03-04T11:00:00Z</t:End><t:StartTimeZone Id="Mars Standard Time"/></t:CalendarItem></m:Items></m:CreateItem>`},
		{"UpdateItem errors", `<m:UpdateItem ConflictResolution="NeverOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="` + master.Id + `" ChangeKey="stale"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange>` +
			`<t:ItemChange><t:OccurrenceItemId RecurringMasterId="` + master.Id + `" InstanceIndex="1"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2026-03-20T10:00:00Z</t:Start></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`},
		{"DeleteItem unknown", `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="QUFNa0k6MTo5OQ=="/></m:ItemIds></m:DeleteItem>`},
		{"GetUserAvailability unknown mailbox", availability("ghost@example.com")},
		{"GetUserOofSettings unknown mailbox", `<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>ghost@example.com</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`},
		{"Subscribe unknown folder", `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:FolderId Id="AAMkAGU="/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`},
		{"GetEvents unknown subscription", `<m:GetEvents><m:SubscriptionId>` + pullID + `</m:SubscriptionId><m:Watermark>` + watermark + `</m:Watermark></m:GetEvents>`},
		{"GetStreamingEvents unknown subscription", `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>AAAA</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`},
		{"Unsubscribe unknown subscription", `<m:Unsubscribe><m:SubscriptionId>` + pullID + `</m:SubscriptionId></m:Unsubscribe>`},
		{"GetServerTimeZones unknown id", `<m:GetServerTimeZones><m:Ids><t:Id>Mars Standard Time</t:Id></m:Ids></m:GetServerTimeZones>`},
		{"ConvertId malformed", `<m:ConvertId DestinationFormat="EwsId"><m:SourceIds><t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="` + user + `"/></m:SourceIds></m:ConvertId>`},
		{"GetMailTips too many recipients", mailTipsBody(many...)},
		{"GetServiceConfiguration unavailable", `<m:GetServiceConfiguration><m:RequestedConfiguration><m:ConfigurationName>UnifiedMessagingConfiguration</m:ConfigurationName></m:RequestedConfiguration></m:GetServiceConfiguration>`},
		{"GetUserConfiguration unknown", `<m:GetUserConfiguration><m:UserConfigurationName Name="OWA.Nothing"><t:DistinguishedFolderId Id="root"/></m:UserConfigurationName><m:UserConfigurationProperties>All</m:UserConfigurationProperties></m:GetUserConfiguration>`},
	}
	for _, c := range errorsCases {
		s.send(c.name, user, c.body)
	}

	// Request-level faults (HTTP 500).
	s.send("fault unimplemented operation", user, `<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>a</m:UnresolvedEntry></m:ResolveNames>`)
	s.send("fault impersonation of an unknown mailbox", "nobody@example.com", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+calendar+`</m:FolderIds></m:GetFolder>`)
	s.send("fault schema range", user, `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId>`+calendar+`</m:SyncFolderId><m:MaxChangesReturned>0</m:MaxChangesReturned></m:SyncFolderItems>`)
	for _, c := range []struct{ name, body string }{
		{"fault malformed XML", soapStart + `<s:Body><m:GetItem><m:ItemShape>`},
		{"fault Exchange2019", envelope("Exchange2019", user, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+calendar+`</m:FolderIds></m:GetFolder>`)},
		{"fault unknown version", envelope("Exchange2099", user, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+calendar+`</m:FolderIds></m:GetFolder>`)},
		{"fault not an EWS element", soapStart + `<s:Body><x:Ping xmlns:x="urn:example"/></s:Body></s:Envelope>`},
	} {
		status, data := e.post(c.body, "X-AnchorMailbox", user)
		s.record(c.name, "(request)", status, data)
	}
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultServerBusy, Percent: 100}); err != nil {
		t.Fatal(err)
	}
	s.send("fault ErrorServerBusy", user, successes[1].body)

	// Every operation's own error answer: internal-server-busy makes each
	// one answer HTTP 200 with its response holding ErrorInternalServerError.
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultClear}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultInternalServerBusy, Percent: 100}); err != nil {
		t.Fatal(err)
	}
	failShape := map[string]bool{}
	seen := map[string]bool{}
	for _, c := range append(successes, errorsCases...) {
		op := sweepOp.FindStringSubmatch(envelope("", "", c.body))[1]
		if seen[op] {
			continue
		}
		seen[op] = true
		if bytes.Contains(s.send(op+" internal server busy", user, c.body), []byte("ErrorInternalServerError")) {
			failShape[op] = true
		}
	}
	if _, err := e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultClear}); err != nil {
		t.Fatal(err)
	}

	// A whole streaming connection: OK, a notification, Closed.
	streamID := e.subscribeStreaming(user)
	ch, raw := e.stream(user, user, streamID)
	next(t, ch)
	if _, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "streamed", Start: t0, End: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if m := next(t, ch); len(m.Notifications.All()) == 0 {
		t.Fatalf("no notification envelope: %+v", m)
	}
	testenv.WaitFor(t, "stream timer", func() bool { return e.clock.PendingTimers() > 0 })
	e.clock.Advance(time.Minute)
	for range ch {
	}
	body := raw()
	if !bytes.Contains(body, []byte("<Notification>")) {
		t.Fatalf("streaming body has no m:Notification:\n%s", body)
	}
	s.record("GetStreamingEvents OK, notification, Closed (in the schema's namespaces)", "GetStreamingEvents", 200, schemaStreamingForm(body))

	s.validate()
	for _, op := range e.sim.Handler().Operations() {
		if !s.success[op] || !s.failure[op] || !failShape[op] {
			t.Errorf("operation %s: success answer seen %v, error answer seen %v, own error shape seen %v; the sweep must cover all three", op, s.success[op], s.failure[op], failShape[op])
		}
	}
}
