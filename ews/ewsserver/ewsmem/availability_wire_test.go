package ewsmem_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

// availabilityBody asks free/busy (with working hours) of the mailboxes
// for one day, in UTC.
func availabilityBody(mailboxes ...string) string {
	var b strings.Builder
	for _, m := range mailboxes {
		b.WriteString(`<t:MailboxData><t:Email><t:Address>` + m + `</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData>`)
	}
	return `<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>1</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>1</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone><m:MailboxDataArray>` +
		b.String() + `</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2026-03-02T00:00:00</t:StartTime><t:EndTime>2026-03-03T00:00:00</t:EndTime></t:TimeWindow><t:RequestedView>FreeBusy</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`
}

// One GetUserAvailability for 100 mailboxes, as calsync's first load asks
// for their zones: one schema-valid FreeBusyResponse per mailbox in request
// order, each with the working hours in that mailbox's own zone, and an
// error of its own (ErrorMailRecipientNotFound, no view) for an address
// that is no mailbox, without failing the others. 101 mailboxes are
// refused as a whole (ErrorMailboxDataArrayTooBig).
func TestWireAvailabilityOfAHundredMailboxes(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true, Options: ewsmem.Options{Mailboxes: 97}})
	zones := map[string]int{ // mailbox → bias of its working hours' zone (minutes west of UTC)
		"user1@example.com":  300,  // New York
		"user2@example.com":  -540, // Tokyo
		"user97@example.com": -60,  // Berlin
	}
	for smtp, tz := range map[string]string{"user1@example.com": "America/New_York", "user2@example.com": "Asia/Tokyo", "user97@example.com": "Europe/Berlin"} {
		if _, err := e.sim.SetTimeZone(smtp, tz); err != nil {
			t.Fatal(err)
		}
	}
	var asked []string
	for i := 1; i <= 97; i++ {
		asked = append(asked, fmt.Sprintf("user%d@example.com", i))
	}
	// Three addresses that are no mailbox, at the start, in the middle and
	// at the end.
	asked = append([]string{"ghost1@example.com"}, asked...)
	asked = append(asked[:50], append([]string{"ghost2@example.com"}, asked[50:]...)...)
	asked = append(asked, "ghost3@example.com")
	if len(asked) != ews.MaxAvailabilityMailboxes {
		t.Fatalf("asking %d mailboxes", len(asked))
	}

	_, data := e.post(envelope("Exchange2013_SP1", "user1@example.com", availabilityBody(asked...)))
	ewsschema.Validate(t, "GetUserAvailability of 100 mailboxes", data)
	var r ewswire.GetUserAvailabilityResponse
	decode(t, data, &r)
	got := r.FreeBusyResponseArray.FreeBusyResponse
	if len(got) != len(asked) {
		t.Fatalf("%d responses for %d mailboxes", len(got), len(asked))
	}
	for i, smtp := range asked {
		m, v := got[i].ResponseMessage, got[i].FreeBusyView
		if strings.HasPrefix(smtp, "ghost") {
			if m == nil || m.ResponseClass != "Error" || m.ResponseCode != string(ews.ErrorMailRecipientNotFound) || v != nil {
				t.Errorf("response %d (%s) = %+v, view %v; want ErrorMailRecipientNotFound without a view", i, smtp, m, v)
			}
			continue
		}
		if m == nil || m.ResponseCode != "NoError" || v == nil || v.WorkingHours == nil {
			t.Errorf("response %d (%s) = %+v; want NoError with working hours", i, smtp, m)
			continue
		}
		if want := zones[smtp]; v.WorkingHours.TimeZone.Bias != want {
			t.Errorf("response %d (%s): working hours' bias %d, want %d (its own zone, in request order)", i, smtp, v.WorkingHours.TimeZone.Bias, want)
		}
	}

	_, data = e.post(envelope("Exchange2013_SP1", "user1@example.com", availabilityBody(append(asked, "user1@example.com")...)))
	ewsschema.Validate(t, "GetUserAvailability of 101 mailboxes", data)
	var big ewswire.GetUserAvailabilityResponse
	decode(t, data, &big)
	if got := big.FreeBusyResponseArray.FreeBusyResponse; len(got) != 1 || got[0].ResponseMessage == nil ||
		got[0].ResponseMessage.ResponseCode != string(ews.ErrorMailboxDataArrayTooBig) {
		t.Errorf("GetUserAvailability of 101 mailboxes = %+v, want one ErrorMailboxDataArrayTooBig", got)
	}
}
