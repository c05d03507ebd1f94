package ewsmem_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

// Paths used by the extended property tests.
const (
	xpFlags     = `<t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33303" PropertyType="Integer"/>`
	xpFlagsGUID = `<t:ExtendedFieldURI PropertySetId="00062002-0000-0000-C000-000000000046" PropertyId="33303" PropertyType="Integer"/>`
	xpBusy      = `<t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33285" PropertyType="Integer"/>`
	xpProject   = `<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="ProjectCode" PropertyType="String"/>`
	xpProjectG  = `<t:ExtendedFieldURI PropertySetId="00020329-0000-0000-c000-000000000046" PropertyName="ProjectCode" PropertyType="String"/>`
	xpTags      = `<t:ExtendedFieldURI PropertySetId="a1b2c3d4-0000-4000-8000-000000000001" PropertyId="7" PropertyType="StringArray"/>`
	xpCodepage  = `<t:ExtendedFieldURI PropertyTag="0x3FDE" PropertyType="Integer"/>`
	xpAbsent    = `<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="NeverSet" PropertyType="String"/>`
)

// xpEnv drives one mailbox over HTTP, schema-validating every answer.
type xpEnv struct {
	*wireEnv
	user string
}

func (x *xpEnv) call(t *testing.T, name, body string, v any) {
	t.Helper()
	status, data := x.post(envelope("Exchange2013_SP1", x.user, body), "X-AnchorMailbox", x.user)
	if status != 200 {
		t.Fatalf("%s: HTTP %d\n%s", name, status, data)
	}
	ewsschema.Validate(t, name, data)
	if f := decode(t, data, v); f != nil {
		t.Fatalf("%s: fault %+v", name, f)
	}
}

// get fetches one item with the given BaseShape and extended paths.
func (x *xpEnv) get(t *testing.T, idXML, base string, paths ...string) (ews.CalendarItem, ewswire.ResponseMessage) {
	t.Helper()
	var r ewswire.GetItemResponse
	x.call(t, "GetItem", `<m:GetItem><m:ItemShape><t:BaseShape>`+base+`</t:BaseShape><t:AdditionalProperties>`+strings.Join(paths, "")+
		`</t:AdditionalProperties></m:ItemShape><m:ItemIds>`+idXML+`</m:ItemIds></m:GetItem>`, &r)
	m := r.ResponseMessages.Messages[0]
	if m.ResponseCode != "NoError" {
		return ews.CalendarItem{}, m.ResponseMessage
	}
	c, err := m.Items.CalendarItem[0].ToEWS()
	if err != nil {
		t.Fatal(err)
	}
	return c, m.ResponseMessage
}

// update sends one ItemChange and returns its response code.
func (x *xpEnv) update(t *testing.T, idXML, updates string) string {
	t.Helper()
	var r ewswire.UpdateItemResponse
	x.call(t, "UpdateItem", `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>`+
		idXML+`<t:Updates>`+updates+`</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`, &r)
	return r.ResponseMessages.Messages[0].ResponseCode
}

func setXP(path, value string) string {
	return `<t:SetItemField>` + path + `<t:CalendarItem><t:ExtendedProperty>` + path + value + `</t:ExtendedProperty></t:CalendarItem></t:SetItemField>`
}

func valuesOf(c ews.CalendarItem) map[string]string {
	out := map[string]string{}
	for _, p := range c.ExtendedProperties {
		k := p.Field.PropertyName + p.Field.PropertyId + p.Field.PropertyTag
		if len(p.Values) > 0 {
			out[k] = strings.Join(p.Values, "|")
		} else {
			out[k] = p.Value
		}
	}
	return out
}

func newXPEnv(t *testing.T) *xpEnv {
	return &xpEnv{wireEnv: newWireEnv(t, ewssim.Options{Basic: true}), user: "user1@example.com"}
}

// create stores an item with the given extended properties and returns its id.
func (x *xpEnv) create(t *testing.T, props string) string {
	t.Helper()
	var r ewswire.CreateItemResponse
	x.call(t, "CreateItem", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Review</t:Subject>`+props+
		`<t:Start>2026-03-04T10:00:00Z</t:Start><t:End>2026-03-04T11:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>`, &r)
	m := r.ResponseMessages.Messages[0]
	if m.ResponseCode != "NoError" || len(m.Items.CalendarItem) != 1 {
		t.Fatalf("CreateItem = %s %s", m.ResponseCode, m.MessageText)
	}
	return m.Items.CalendarItem[0].ItemId.Id
}

func TestExtendedPropertiesStoredAndReturned(t *testing.T) {
	x := newXPEnv(t)
	id := x.create(t, `<t:ExtendedProperty>`+xpProject+`<t:Value>P-42</t:Value></t:ExtendedProperty>`+
		`<t:ExtendedProperty>`+xpTags+`<t:Values><t:Value>a</t:Value><t:Value>b</t:Value></t:Values></t:ExtendedProperty>`+
		`<t:ExtendedProperty>`+xpCodepage+`<t:Value>65001</t:Value></t:ExtendedProperty>`)
	idXML := `<t:ItemId Id="` + id + `"/>`

	// Default shape with the paths: every property, plus exactly the
	// requested extended properties the item has, under the path as asked
	// (the GUID spelling of PublicStrings is the same property).
	c, m := x.get(t, idXML, "Default", xpProjectG, xpTags, xpCodepage, xpAbsent)
	if m.ResponseCode != "" && m.ResponseCode != "NoError" {
		t.Fatalf("GetItem = %s", m.ResponseCode)
	}
	got := valuesOf(c)
	if len(got) != 3 || got["ProjectCode"] != "P-42" || got["7"] != "a|b" || got["0x3FDE"] != "65001" {
		t.Errorf("extended properties = %v", got)
	}
	if c.ExtendedProperties[0].Field.PropertySetId != "00020329-0000-0000-c000-000000000046" || c.Subject != "Review" {
		t.Errorf("first property answered as %+v (want the path as asked), subject %q", c.ExtendedProperties[0].Field, c.Subject)
	}
	// Not asked for: not returned.
	if c, _ := x.get(t, idXML, "AllProperties", xpBusy); len(c.ExtendedProperties) != 1 || c.ExtendedProperties[0].Field.PropertyId != "33285" {
		t.Errorf("AllProperties with PidLidBusyStatus returned %+v", c.ExtendedProperties)
	}
	// IdOnly with only extended paths: the id and those properties.
	if c, _ := x.get(t, idXML, "IdOnly", xpProject); c.Subject != "" || !c.Start.IsZero() || valuesOf(c)["ProjectCode"] != "P-42" {
		t.Errorf("IdOnly + extended = subject %q start %v props %v", c.Subject, c.Start, valuesOf(c))
	}

	// SetItemField replaces, DeleteItemField removes.
	if code := x.update(t, idXML, setXP(xpProject, `<t:Value>P-43</t:Value>`)+`<t:DeleteItemField>`+xpCodepage+`</t:DeleteItemField>`); code != "NoError" {
		t.Fatalf("UpdateItem = %s", code)
	}
	c, _ = x.get(t, idXML, "IdOnly", xpProject, xpCodepage, xpTags)
	if got := valuesOf(c); len(got) != 2 || got["ProjectCode"] != "P-43" || got["7"] != "a|b" {
		t.Errorf("after update: %v", got)
	}

	// FindItem and SyncFolderItems return them too.
	var f ewswire.FindItemResponse
	x.call(t, "FindItem", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+xpProject+
		`</t:AdditionalProperties></m:ItemShape><m:CalendarView StartDate="2026-03-04T00:00:00Z" EndDate="2026-03-05T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`, &f)
	items, _ := f.ResponseMessages.Messages[0].RootFolder.Items.CalendarItems()
	found := false
	for _, it := range items {
		found = found || valuesOf(it)["ProjectCode"] == "P-43"
	}
	if !found {
		t.Errorf("CalendarView items %+v lack ProjectCode", items)
	}
	var s ewswire.SyncFolderItemsResponse
	x.call(t, "SyncFolderItems", `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+xpProject+
		`</t:AdditionalProperties></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`, &s)
	found = false
	for _, ch := range *s.ResponseMessages.Messages[0].Changes {
		if ch.CalendarItem != nil && ch.CalendarItem.ItemId.Id == id {
			c, _ := ch.CalendarItem.ToEWS()
			found = valuesOf(c)["ProjectCode"] == "P-43" && c.Subject == ""
		}
	}
	if !found {
		t.Error("SyncFolderItems IdOnly + extended did not return the id with ProjectCode only")
	}
}

func TestExtendedPropertiesBehindCalendarProperties(t *testing.T) {
	x := newXPEnv(t)
	// Created as a cancelled meeting the user organises, busy status OOF,
	// through the MAPI properties only.
	id := x.create(t, `<t:ExtendedProperty>`+xpFlags+`<t:Value>5</t:Value></t:ExtendedProperty><t:ExtendedProperty>`+xpBusy+`<t:Value>3</t:Value></t:ExtendedProperty>`)
	idXML := `<t:ItemId Id="` + id + `"/>`
	c, _ := x.get(t, idXML, "AllProperties", xpFlagsGUID, xpBusy)
	if !c.IsCancelled || !c.IsMeeting || c.AppointmentState != 5 || c.LegacyFreeBusyStatus != ews.FreeBusyOOF || c.MyResponseType != ews.ResponseOrganizer {
		t.Errorf("first-class view = cancelled %v meeting %v state %d busy %s response %s", c.IsCancelled, c.IsMeeting, c.AppointmentState, c.LegacyFreeBusyStatus, c.MyResponseType)
	}
	if got := valuesOf(c); got["33303"] != "5" || got["33285"] != "3" {
		t.Errorf("MAPI view = %v", got)
	}

	// The other direction: first-class changes show in the MAPI view.
	if code := x.update(t, idXML, `<t:SetItemField><t:FieldURI FieldURI="calendar:LegacyFreeBusyStatus"/><t:CalendarItem><t:LegacyFreeBusyStatus>Tentative</t:LegacyFreeBusyStatus></t:CalendarItem></t:SetItemField>`+
		`<t:SetItemField><t:FieldURI FieldURI="calendar:IsCancelled"/><t:CalendarItem><t:IsCancelled>false</t:IsCancelled></t:CalendarItem></t:SetItemField>`); code != "NoError" {
		t.Fatalf("UpdateItem = %s", code)
	}
	c, _ = x.get(t, idXML, "IdOnly", xpFlags, xpBusy)
	if got := valuesOf(c); got["33303"] != "1" || got["33285"] != "1" {
		t.Errorf("after first-class update, MAPI view = %v", got)
	}

	// Deleting the busy status gives the default (Busy).
	if code := x.update(t, idXML, `<t:DeleteItemField>`+xpBusy+`</t:DeleteItemField>`); code != "NoError" {
		t.Fatalf("UpdateItem = %s", code)
	}
	if c, _ := x.get(t, idXML, "Default"); c.LegacyFreeBusyStatus != ews.FreeBusyBusy {
		t.Errorf("after DeleteItemField PidLidBusyStatus: %s", c.LegacyFreeBusyStatus)
	}

	// One occurrence cancelled through the flags: only it.
	var cr ewswire.CreateItemResponse
	x.call(t, "CreateItem", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Daily</t:Subject><t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-02</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence><t:Start>2026-03-02T09:00:00Z</t:Start><t:End>2026-03-02T09:15:00Z</t:End><t:IsMeeting>true</t:IsMeeting><t:StartTimeZone Id="UTC"/></t:CalendarItem></m:Items></m:CreateItem>`, &cr)
	master := cr.ResponseMessages.Messages[0].Items.CalendarItem[0].ItemId.Id
	if code := x.update(t, `<t:OccurrenceItemId RecurringMasterId="`+master+`" InstanceIndex="2"/>`, setXP(xpFlags, `<t:Value>7</t:Value>`)); code != "NoError" {
		t.Fatalf("UpdateItem occurrence = %s", code)
	}
	occ, _ := x.sim.Occurrences(x.user, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
	var states []string
	for _, o := range occ {
		if o.Subject == "Daily" {
			states = append(states, fmt.Sprintf("%s:%v", o.CalendarItemType, o.IsCancelled))
		}
	}
	if strings.Join(states, " ") != "Occurrence:false Exception:true Occurrence:false" {
		t.Errorf("occurrences = %v", states)
	}
}

func TestExtendedPropertyErrors(t *testing.T) {
	x := newXPEnv(t)
	id := x.create(t, "")
	idXML := `<t:ItemId Id="` + id + `"/>`
	tests := []struct {
		name, updates string
		want          ews.ResponseCode
	}{
		{"value not an Integer", setXP(xpFlags, `<t:Value>cancelled</t:Value>`), ews.ErrorInvalidExtendedPropertyValue},
		{"busy status out of range", setXP(xpBusy, `<t:Value>9</t:Value>`), ews.ErrorInvalidExtendedPropertyValue},
		{"list for a single value", setXP(xpProject, `<t:Values><t:Value>a</t:Value></t:Values>`), ews.ErrorInvalidExtendedPropertyValue},
		{"mapped property with another type", setXP(`<t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33303" PropertyType="String"/>`, `<t:Value>5</t:Value>`), ews.ErrorInvalidExtendedPropertyValue},
		{"named property by tag", setXP(`<t:ExtendedFieldURI PropertyTag="0x8217" PropertyType="Integer"/>`, `<t:Value>5</t:Value>`), ews.ErrorInvalidExtendedProperty},
		{"set without PropertyId or PropertyName", setXP(`<t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyType="Integer"/>`, `<t:Value>5</t:Value>`), ews.ErrorInvalidExtendedProperty},
		{"item property differs from the path", `<t:SetItemField>` + xpFlags + `<t:CalendarItem><t:ExtendedProperty>` + xpBusy + `<t:Value>1</t:Value></t:ExtendedProperty></t:CalendarItem></t:SetItemField>`, ews.ErrorUpdatePropertyMismatch},
		{"delete the start", `<t:DeleteItemField><t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33293" PropertyType="SystemTime"/></t:DeleteItemField>`, ews.ErrorInvalidPropertyDelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := x.update(t, idXML, tt.updates); code != string(tt.want) {
				t.Errorf("UpdateItem = %s, want %s", code, tt.want)
			}
		})
	}
	// An invalid path in a shape fails the request.
	if _, m := x.get(t, idXML, "IdOnly", `<t:ExtendedFieldURI PropertyTag="0x9000" PropertyType="String"/>`); m.ResponseCode != string(ews.ErrorInvalidExtendedProperty) {
		t.Errorf("GetItem with a named-range tag = %s", m.ResponseCode)
	}
	// Nothing was changed by the refused updates.
	if c, _ := x.get(t, idXML, "Default"); c.IsCancelled || c.LegacyFreeBusyStatus != ews.FreeBusyBusy {
		t.Errorf("item changed by refused updates: %+v", c)
	}
}
