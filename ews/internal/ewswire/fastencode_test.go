package ewswire_test

import (
	"bytes"
	"math/rand"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

// encodeTexts hold what encoding/xml escapes: markup characters, quotes,
// white space it writes as references, invalid UTF-8 and a character XML
// does not allow, and non-ASCII text.
var encodeTexts = []string{"alice@contoso.com", `a&b<c>"d'e`, "tab\there\r\nline", "Ünïcødé ✓ 𝄞", "bad\xffutf8", "ctrl\x01char", ""}

// randomHeader is a header the client sends: none, the server version,
// impersonation by each kind of identifier, or both.
func randomHeader(rng *rand.Rand, text func() string) *ewswire.Header {
	h := &ewswire.Header{}
	if rng.Intn(3) > 0 {
		h.RequestServerVersion = &ewswire.RequestServerVersion{Version: []string{"Exchange2013_SP1", "Exchange2016", "V2017_07_11"}[rng.Intn(3)]}
	}
	if rng.Intn(3) > 0 {
		var sid ewswire.ConnectingSID
		switch rng.Intn(4) {
		case 0:
			sid.PrincipalName = text()
		case 1:
			sid.SID = text()
		case 2:
			sid.PrimarySmtpAddress = text()
		default:
			sid.SmtpAddress = text()
		}
		h.Impersonation = &ewswire.ExchangeImpersonation{ConnectingSID: sid}
	}
	if rng.Intn(5) == 0 {
		return nil
	}
	return h
}

func randomFolders(rng *rand.Rand, text func() string) ewswire.FolderIds {
	var f ewswire.FolderIds
	for range 1 + rng.Intn(3) {
		r := ewswire.FolderRef{Distinguished: rng.Intn(2) == 0, Id: text()}
		if r.Distinguished {
			r.Id = []string{"calendar", "inbox", "root"}[rng.Intn(3)]
			if rng.Intn(2) == 0 {
				r.Mailbox = text()
			}
		}
		if rng.Intn(2) == 0 {
			r.ChangeKey = text()
		}
		f = append(f, r)
	}
	return f
}

// randomRequest is one of the four hot requests with random values.
func randomRequest(rng *rand.Rand, text func() string) any {
	start := time.Date(2026, 12, 7, rng.Intn(24), 0, 0, rng.Intn(2)*500_000_000, time.UTC)
	switch rng.Intn(4) {
	case 3:
		return randomMailTipsRequest(rng, text)
	case 0:
		r := &ewswire.FindItem{Traversal: "Shallow", ItemShape: ewswire.ItemShape{BaseShape: "IdOnly"},
			CalendarView:    &ewswire.CalendarView{MaxEntriesReturned: rng.Intn(2) * 1000, StartDate: ewswire.DateTime{Time: start}, EndDate: ewswire.DateTime{Time: start.Add(15 * 24 * time.Hour)}},
			ParentFolderIds: randomFolders(rng, text)}
		if rng.Intn(3) > 0 {
			r.ItemShape.AdditionalProperties = &ewswire.PathList{}
			for range 1 + rng.Intn(4) {
				r.ItemShape.AdditionalProperties.FieldURI = append(r.ItemShape.AdditionalProperties.FieldURI, ewswire.FieldURI{FieldURI: []string{"item:Subject", "calendar:Start", "calendar:UID"}[rng.Intn(3)]})
			}
		}
		return r
	case 1:
		s := &ewswire.StreamingSubscriptionRequest{EventTypes: ewswire.EventTypes{EventType: []string{"CreatedEvent", "ModifiedEvent", "DeletedEvent"}[:1+rng.Intn(3)]}}
		if rng.Intn(2) == 0 {
			all := true
			s.SubscribeToAllFolders = &all
		} else {
			f := randomFolders(rng, text)
			s.FolderIds = &f
		}
		return &ewswire.Subscribe{Streaming: s}
	}
	r := &ewswire.GetUserAvailabilityRequest{}
	if rng.Intn(4) > 0 {
		z := ewswire.TimeZoneFrom(ews.UTCLegacyTimeZone())
		z.Bias = rng.Intn(25)*60 - 720
		z.StandardTime.Time = text()
		r.TimeZone = &z
	}
	for range 1 + rng.Intn(5) {
		var m ewswire.MailboxData
		m.Email.Address = text()
		if rng.Intn(2) == 0 {
			m.Email.Name, m.Email.RoutingType = text(), "SMTP"
		}
		m.AttendeeType = "Required"
		if rng.Intn(2) == 0 {
			ex := rng.Intn(2) == 0
			m.ExcludeConflicts = &ex
		}
		r.MailboxDataArray.MailboxData = append(r.MailboxDataArray.MailboxData, m)
	}
	if rng.Intn(4) > 0 {
		o := &ewswire.FreeBusyViewOptions{MergedFreeBusyIntervalInMinutes: rng.Intn(2) * 30, RequestedView: []string{"", "FreeBusy", "Detailed"}[rng.Intn(3)]}
		o.TimeWindow.StartTime = ewswire.LocalDateTime{Time: start}
		o.TimeWindow.EndTime = ewswire.LocalDateTime{Time: start.Add(24 * time.Hour)}
		r.FreeBusyViewOptions = o
	}
	return r
}

// TestFastEncodingIsEncodingXML: the requests that write themselves write
// exactly what encoding/xml writes for the same values (so the structs'
// tags stay the one definition of the wire form), and what they write for
// the values the client sends validates against the EWS schema.
func TestFastEncodingIsEncodingXML(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	text := func() string { return encodeTexts[rng.Intn(len(encodeTexts))] }
	clean := func() string { return encodeTexts[rng.Intn(4)] } // valid XML characters only
	var valid [][]byte
	for i := range 300 {
		h, body := randomHeader(rng, text), randomRequest(rng, text)
		if i%3 == 0 {
			h, body = randomHeader(rng, clean), randomRequest(rng, clean)
		}
		fast, ok := ewswire.MarshalFast(h, body)
		if !ok {
			t.Fatalf("request %d (%T) did not write itself", i, body)
		}
		var std bytes.Buffer
		if err := ewswire.EncodeEnvelope(&std, h, body); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, std.Bytes()) {
			t.Fatalf("request %d (%T) differs:\nfast %s\nstd  %s", i, body, fast, std.Bytes())
		}
		if i%3 == 0 {
			valid = append(valid, fast)
		}
	}
	ewsschema.Validate(t, "fast-encoded-requests", bytes.Join(valid, nil))
}

// TestFastEncodingDeclines: parts the writers do not know go through
// encoding/xml.
func TestFastEncodingDeclines(t *testing.T) {
	ref := ewswire.FolderIds{{Distinguished: true, Id: "calendar"}}
	for name, c := range map[string]struct {
		h    *ewswire.Header
		body any
	}{
		"paged FindItem":     {nil, &ewswire.FindItem{Traversal: "Shallow", IndexedPageItemView: &ewswire.IndexedPageItemView{BasePoint: "Beginning"}, ParentFolderIds: ref}},
		"extended property":  {nil, &ewswire.FindItem{Traversal: "Shallow", ItemShape: ewswire.ItemShape{AdditionalProperties: &ewswire.PathList{ExtendedFieldURI: []ewswire.ExtendedFieldURI{{PropertyTag: "0x1000", PropertyType: "String"}}}}, ParentFolderIds: ref}},
		"pull subscription":  {nil, &ewswire.Subscribe{Pull: &ewswire.PullSubscriptionRequest{Timeout: 5}}},
		"time zone context":  {&ewswire.Header{TimeZoneContext: &ewswire.TimeZoneContext{}}, &ewswire.Subscribe{Streaming: &ewswire.StreamingSubscriptionRequest{}}},
		"other request type": {nil, &ewswire.GetUserOofSettingsRequest{}},
	} {
		if _, ok := ewswire.MarshalFast(c.h, c.body); ok {
			t.Errorf("%s: written by the fast path", name)
		}
	}
}
