package ewsmem_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

func mailTipsBody(recipients ...string) string {
	var mbs strings.Builder
	for _, r := range recipients {
		mbs.WriteString(`<t:Mailbox><t:EmailAddress>` + r + `</t:EmailAddress></t:Mailbox>`)
	}
	return `<m:GetMailTips><m:SendingAs><t:EmailAddress>svc-calsync@example.com</t:EmailAddress></m:SendingAs><m:Recipients>` +
		mbs.String() + `</m:Recipients><m:MailTipsRequested>OutOfOfficeMessage</m:MailTipsRequested></m:GetMailTips>`
}

// GetMailTips answers the automatic-reply tip of many recipients in one
// request, in request order: the internal reply while replies are on now,
// the period when they are scheduled, nothing when they are off (or
// scheduled for later) or the address has no mailbox.
func TestWireGetMailTips(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true, Options: ewsmem.Options{Mailboxes: 4}})
	if err := e.sim.SetOOF("user1@example.com", ews.OofSettings{State: ews.OofEnabled, InternalReply: "Away until Monday."}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetOOF("user2@example.com", ews.OofSettings{State: ews.OofScheduled, Start: t0.Add(-time.Hour), End: t0.Add(48 * time.Hour), InternalReply: "On a course."}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetOOF("user3@example.com", ews.OofSettings{State: ews.OofScheduled, Start: t0.Add(time.Hour), End: t0.Add(48 * time.Hour), InternalReply: "Later."}); err != nil {
		t.Fatal(err)
	}
	status, data := e.post(envelope("Exchange2013_SP1", "", mailTipsBody("user1@example.com", "user2@example.com", "user3@example.com", "user4@example.com", "nobody@elsewhere.example")))
	if status != 200 {
		t.Fatalf("GetMailTips: HTTP %d\n%s", status, data)
	}
	ewsschema.Validate(t, "GetMailTips", data)
	var r ewswire.GetMailTipsResponse
	decode(t, data, &r)
	if r.ResponseCode != "NoError" || r.ResponseMessages == nil || len(r.ResponseMessages.Messages) != 5 {
		t.Fatalf("GetMailTips = %+v\n%s", r, data)
	}
	type want struct {
		on         bool
		message    string
		start, end time.Time
	}
	wants := []want{{true, "Away until Monday.", time.Time{}, time.Time{}}, {true, "On a course.", t0.Add(-time.Hour), t0.Add(48 * time.Hour)}, {}, {}, {}}
	for i, m := range r.ResponseMessages.Messages {
		if m.MailTips == nil {
			t.Fatalf("recipient %d: no MailTips\n%s", i, data)
		}
		tip := m.MailTips.ToEWS()
		got := want{tip.On, tip.Message, tip.Start, tip.End}
		if got != wants[i] {
			t.Errorf("recipient %d (%s) tip = %+v, want %+v", i, tip.Recipient, got, wants[i])
		}
	}

	// Once the scheduled period starts, the tip turns on (the simulator's
	// clock decides).
	e.clock.Advance(2 * time.Hour)
	_, data = e.post(envelope("Exchange2013_SP1", "", mailTipsBody("user3@example.com")))
	var later ewswire.GetMailTipsResponse
	decode(t, data, &later)
	if tip := later.ResponseMessages.Messages[0].MailTips.ToEWS(); !tip.On || tip.Message != "Later." {
		t.Errorf("user3 tip after its start = %+v, want on", tip)
	}
}

// Exchange's limit: MaxRecipientsPerGetMailTipsRequest (50), reported by
// GetServiceConfiguration; more recipients fail the whole request.
func TestWireGetMailTipsLimit(t *testing.T) {
	// Exchange's default, and a server whose administrator raised
	// MaxRecipientsPerGetMailTipsRequest (ewsmem.Options).
	for _, want := range []int{ews.DefaultMaxMailTipsRecipients, 100} {
		t.Run(fmt.Sprint(want), func(t *testing.T) {
			opts := ewssim.Options{Basic: true}
			if want != ews.DefaultMaxMailTipsRecipients {
				opts.MaxMailTipsRecipients = want
			}
			e := newWireEnv(t, opts)
			status, data := e.post(envelope("Exchange2013_SP1", "", `<m:GetServiceConfiguration><m:RequestedConfiguration><m:ConfigurationName>MailTips</m:ConfigurationName></m:RequestedConfiguration></m:GetServiceConfiguration>`))
			if status != 200 {
				t.Fatalf("GetServiceConfiguration: HTTP %d\n%s", status, data)
			}
			ewsschema.Validate(t, "GetServiceConfiguration", data)
			var sc ewswire.GetServiceConfigurationResponse
			decode(t, data, &sc)
			if sc.ResponseMessages == nil || len(sc.ResponseMessages.Messages) != 1 || sc.ResponseMessages.Messages[0].MailTipsConfiguration == nil {
				t.Fatalf("GetServiceConfiguration = %s", data)
			}
			limit := sc.ResponseMessages.Messages[0].MailTipsConfiguration.ToEWS().MaxRecipientsPerRequest
			if limit != want {
				t.Errorf("MaxRecipientsPerGetMailTipsRequest = %d, want %d", limit, want)
			}
			var many []string
			for i := 0; i <= limit; i++ {
				many = append(many, fmt.Sprintf("user%d@example.com", i+1))
			}
			for _, tt := range []struct {
				n    int
				code ews.ResponseCode
			}{{limit, ews.NoError}, {limit + 1, ews.ErrorExceededMaxRecipientLimit}} {
				_, data := e.post(envelope("Exchange2013_SP1", "", mailTipsBody(many[:tt.n]...)))
				ewsschema.Validate(t, "GetMailTips limit", data)
				var r ewswire.GetMailTipsResponse
				decode(t, data, &r)
				if r.ResponseCode != string(tt.code) {
					t.Errorf("GetMailTips(%d recipients) = %s %q, want %s", tt.n, r.ResponseCode, r.MessageText, tt.code)
				}
			}
		})
	}
}

// The mailbox's time zone is where Exchange keeps it: OWA.UserOptions'
// "timezone" entry and the zone of the working hours.
func TestWireMailboxTimeZone(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	user := "user1@example.com"
	configBody := `<m:GetUserConfiguration><m:UserConfigurationName Name="OWA.UserOptions"><t:DistinguishedFolderId Id="root"/></m:UserConfigurationName><m:UserConfigurationProperties>Dictionary</m:UserConfigurationProperties></m:GetUserConfiguration>`

	// No zone yet: no OWA.UserOptions (OWA writes it at the first logon).
	_, data := e.post(envelope("Exchange2013_SP1", user, configBody), "X-AnchorMailbox", user)
	ewsschema.Validate(t, "GetUserConfiguration missing", data)
	var r ewswire.GetUserConfigurationResponse
	decode(t, data, &r)
	if c := r.ResponseMessages.Messages[0].ResponseCode; c != string(ews.ErrorItemNotFound) {
		t.Errorf("GetUserConfiguration without a zone = %s, want ErrorItemNotFound", c)
	}

	if id, err := e.sim.SetTimeZone(user, "America/New_York"); err != nil || id != "Eastern Standard Time" {
		t.Fatalf("SetTimeZone(America/New_York) = %q, %v", id, err)
	}
	_, data = e.post(envelope("Exchange2013_SP1", user, configBody), "X-AnchorMailbox", user)
	ewsschema.Validate(t, "GetUserConfiguration", data)
	var found ewswire.GetUserConfigurationResponse
	decode(t, data, &found)
	m := found.ResponseMessages.Messages[0]
	if got := m.UserConfiguration.StringEntries()["timezone"]; m.ResponseCode != "NoError" || got != "Eastern Standard Time" {
		t.Errorf("OWA.UserOptions timezone = %q (%s), want Eastern Standard Time", got, m.ResponseCode)
	}

	// Working hours in New York time: bias 300, daylight from the second
	// Sunday of March 02:00, standard from the first Sunday of November.
	avail := `<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>1</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>1</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone><m:MailboxDataArray><t:MailboxData><t:Email><t:Address>` + user + `</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2026-03-02T00:00:00</t:StartTime><t:EndTime>2026-03-03T00:00:00</t:EndTime></t:TimeWindow><t:RequestedView>FreeBusy</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`
	_, data = e.post(envelope("Exchange2013_SP1", "", avail))
	ewsschema.Validate(t, "GetUserAvailability working hours", data)
	var ar ewswire.GetUserAvailabilityResponse
	decode(t, data, &ar)
	v := ar.FreeBusyResponseArray.FreeBusyResponse[0].FreeBusyView
	if v == nil || v.WorkingHours == nil {
		t.Fatalf("no working hours\n%s", data)
	}
	tz := v.WorkingHours.TimeZone
	wantDST := ewswire.SerializableTimeZoneTime{Bias: -60, Time: "02:00:00", DayOrder: 2, Month: 3, DayOfWeek: "Sunday"}
	wantStd := ewswire.SerializableTimeZoneTime{Bias: 0, Time: "02:00:00", DayOrder: 1, Month: 11, DayOfWeek: "Sunday"}
	if tz.Bias != 300 || tz.DaylightTime != wantDST || tz.StandardTime != wantStd {
		t.Errorf("working hours zone = %+v, want bias 300, daylight %+v, standard %+v", tz, wantDST, wantStd)
	}
}
