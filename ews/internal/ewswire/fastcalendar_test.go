package ewswire_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/testenv"
)

// decodeStandard decodes a FindItem response with encoding/xml the way the
// client does, into the fast decoder's result shape.
func decodeStandard(data []byte, lim ewswire.Limits) (*ewswire.CalendarItemsResponse, error) {
	var resp ewswire.FindItemResponse
	env, err := ewswire.DecodeEnvelope(bytes.NewReader(data), lim, ewswire.Expect(&resp))
	if err != nil {
		return nil, err
	}
	if len(resp.ResponseMessages.Messages) != 1 {
		return nil, fmt.Errorf("%d messages", len(resp.ResponseMessages.Messages))
	}
	m := resp.ResponseMessages.Messages[0]
	out := &ewswire.CalendarItemsResponse{ServerVersionInfo: env.Header.ServerVersionInfo, Message: m.ResponseMessage, SOAP12: env.SOAP12}
	if m.RootFolder != nil {
		root := *m.RootFolder
		items, err := root.Items.CalendarItems()
		if err != nil {
			return nil, err
		}
		out.Items = items
		root.Items = ewswire.Items{}
		out.RootFolder = &root
	}
	return out, nil
}

// compareDecoders decodes data with both decoders. Whenever the fast
// decoder answers, encoding/xml must answer the same, field by field; it
// reports whether the fast decoder answered.
func compareDecoders(t *testing.T, name string, data []byte, lim ewswire.Limits) bool {
	t.Helper()
	fast, ferr := ewswire.DecodeFindItemCalendar(data, lim)
	if ferr != nil {
		return false
	}
	std, serr := decodeStandard(data, lim)
	if serr != nil {
		t.Fatalf("%s: the fast decoder accepted what encoding/xml refuses (%v)\n%.2000s", name, serr, data)
	}
	if len(fast.Items) == 0 {
		fast.Items = nil
	}
	if len(std.Items) == 0 {
		std.Items = nil
	}
	if !reflect.DeepEqual(fast, std) {
		if len(fast.Items) == len(std.Items) {
			for i := range fast.Items {
				if !reflect.DeepEqual(fast.Items[i], std.Items[i]) {
					t.Fatalf("%s: item %d differs:\nfast %+v\nstd  %+v", name, i, fast.Items[i], std.Items[i])
				}
			}
		}
		t.Fatalf("%s: results differ:\nfast %+v\nstd  %+v", name, fast, std)
	}
	return true
}

// TestFastDecoderSamples: every recorded sample decodes the same with both
// decoders, and the CalendarView answers take the fast path.
func TestFastDecoderSamples(t *testing.T) {
	checkSamples(t, compareDecoders, "finditem-calendarview-response.xml", "finditem-calendar-response-occurrences-exchange2019.xml")
}

// readSamples returns the recorded sample messages by file name.
func readSamples(t *testing.T) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(testenv.ReferenceDir(t), "ews-samples", "*.xml"))
	if len(files) == 0 {
		t.Fatal("no samples")
	}
	out := map[string][]byte{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// checkSamples runs compare (which fails the test on a difference and
// reports whether the token decoder answered) on every sample, and checks
// that the named samples took the token decoder's path.
func checkSamples(t *testing.T, compare func(*testing.T, string, []byte, ewswire.Limits) bool, fast ...string) {
	t.Helper()
	fastOnes := map[string]bool{}
	for name, b := range readSamples(t) {
		fastOnes[name] = compare(t, name, b, ewswire.DefaultLimits)
	}
	for _, want := range fast {
		if !fastOnes[want] {
			t.Errorf("%s did not take the fast path", want)
		}
	}
}

// TestFastDecoderGenerated compares both decoders on generated CalendarView
// answers of every item shape, written in several prefix styles.
func TestFastDecoderGenerated(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	for i := 0; i < 60; i++ {
		items := make([]ews.CalendarItem, 1+rng.Intn(12))
		for j := range items {
			items[j] = randomItem(rng, i*100+j)
		}
		data := encodeFindItem(t, items, rng.Intn(2) == 0)
		for v, form := range rewriteForms {
			name := fmt.Sprintf("response %d form %d", i, v)
			out := form(t, data)
			if !compareDecoders(t, name, out, ewswire.DefaultLimits) {
				t.Fatalf("%s: the fast decoder declined a CalendarView answer\n%.3000s", name, out)
			}
		}
	}
}

// TestFastDecoderDeclines: shapes left to encoding/xml and hostile input
// end in an error, never a panic or a wrong answer.
func TestFastDecoderDeclines(t *testing.T) {
	good := encodeFindItem(t, []ews.CalendarItem{randomItem(rand.New(rand.NewSource(1)), 1)}, true)
	cases := map[string][]byte{
		"truncated":     good[:len(good)/2],
		"empty":         nil,
		"fault":         []byte(`<s:Envelope xmlns:s="` + ewswire.NSSOAP11 + `"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>`),
		"doctype":       append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), good...),
		"unknown ent":   bytes.Replace(good, []byte("<Subject>"), []byte("<Subject>&bogus;"), 1),
		"bad utf8":      bytes.Replace(good, []byte("<Subject>"), []byte("<Subject>\xff"), 1),
		"mismatch":      bytes.Replace(good, []byte("</Subject>"), []byte("</Location>"), 1),
		"bad bool":      bytes.Replace(good, []byte("<IsMeeting>true"), []byte("<IsMeeting>yes"), 1),
		"bad time":      bytes.Replace(good, []byte("<Start>2"), []byte("<Start>x2"), 1),
		"repeated":      bytes.Replace(good, []byte("<Subject>"), []byte("<Subject>a</Subject><Subject>"), 1),
		"two messages":  bytes.Replace(good, []byte("</ResponseMessages>"), []byte("<FindItemResponseMessage ResponseClass=\"Success\"/></ResponseMessages>"), 1),
		"recurrence":    bytes.Replace(good, []byte("<UID>"), []byte(`<Recurrence><DailyRecurrence><Interval>1</Interval></DailyRecurrence><NoEndRecurrence><StartDate>2026-01-01</StartDate></NoEndRecurrence></Recurrence><UID>`), 1),
		"text in body":  bytes.Replace(good, []byte("<s:Body>"), []byte("<s:Body>x"), 1),
		"NUL reference": bytes.Replace(good, []byte("<Subject>"), []byte("<Subject>&#0;"), 1),
	}
	deep := bytes.Replace(good, []byte("<Subject>"), []byte("<Subject>"+strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100)), 1)
	cases["deep"] = deep
	if _, err := ewswire.DecodeFindItemCalendar(deep, ewswire.DefaultLimits); !errors.Is(err, ewswire.ErrTooDeep) {
		t.Errorf("depth limit: %v", err)
	}
	for name, data := range cases {
		if _, err := ewswire.DecodeFindItemCalendar(data, ewswire.DefaultLimits); err == nil {
			t.Errorf("%s: accepted", name)
		}
		compareDecoders(t, name, data, ewswire.DefaultLimits)
	}
	if _, err := ewswire.DecodeFindItemCalendar(good, ewswire.Limits{MaxBytes: 100}); !errors.Is(err, ewswire.ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
}

func encodeFindItem(tb testing.TB, items []ews.CalendarItem, header bool) []byte {
	r := &ewswire.FindItemResponse{}
	r.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: ewswire.Success(),
		RootFolder: &ewswire.FindItemRootFolder{TotalItemsInView: len(items), IncludesLastItemInRange: len(items)%3 != 0, Items: *ewswire.ItemsOf(items)}}}
	var h *ewswire.Header
	if header {
		h = &ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 20, MajorBuildNumber: 7, MinorBuildNumber: 3, Version: "V2018_01_08"}}
	}
	b, err := ewswire.Marshal(h, r)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var genZones = []string{"W. Europe Standard Time", "Pacific Standard Time", "UTC", "Tokyo Standard Time", ""}

// randomItem builds an item of one of the shapes a CalendarView answers:
// single, occurrence, exception, all-day, private, cancelled, with
// attendees, bodies and categories holding characters that need escaping.
func randomItem(rng *rand.Rand, n int) ews.CalendarItem {
	start := time.Date(2026, time.Month(1+rng.Intn(12)), 1+rng.Intn(28), rng.Intn(24), 15*rng.Intn(4), 0, 0, time.UTC)
	c := ews.CalendarItem{
		ItemId:               ews.ItemId{Id: fmt.Sprintf("AAMkAD%06d==", n), ChangeKey: fmt.Sprintf("DwAAAB%04d", rng.Intn(9999))},
		ParentFolderId:       ews.FolderId{Id: "AQMkADcal", ChangeKey: "AQAAAA=="},
		ItemClass:            "IPM.Appointment",
		Subject:              []string{"Standup", "R&D <review>", "Café \"quotes\" 'apos'", "line1\nline2", "  padded  ", ""}[rng.Intn(6)],
		Sensitivity:          []ews.Sensitivity{ews.SensitivityNormal, ews.SensitivityPrivate, ews.SensitivityPersonal, ews.SensitivityConfidential}[rng.Intn(4)],
		UID:                  fmt.Sprintf("040000008200E00074C5B7101A82E008%08d", n),
		Start:                start,
		End:                  start.Add(time.Duration(rng.Intn(5)) * 30 * time.Minute),
		LegacyFreeBusyStatus: []ews.FreeBusyStatus{ews.FreeBusyBusy, ews.FreeBusyFree, ews.FreeBusyTentative, ews.FreeBusyOOF, ews.FreeBusyWorkingElsewhere}[rng.Intn(5)],
		Location:             []string{"", "Room 4.12", "Teams & co"}[rng.Intn(3)],
		IsMeeting:            rng.Intn(2) == 0,
		IsCancelled:          rng.Intn(6) == 0,
		MyResponseType:       []ews.ResponseType{ews.ResponseAccept, ews.ResponseOrganizer, ews.ResponseTentative, ews.ResponseNoResponseReceived}[rng.Intn(4)],
		AppointmentState:     ews.AppointmentState(rng.Intn(16)),
		StartTimeZone:        genZones[rng.Intn(len(genZones))],
		LastModifiedTime:     start.Add(-time.Hour),
		DateTimeCreated:      start.Add(-48 * time.Hour),
		Importance:           "Normal",
		IsOnlineMeeting:      rng.Intn(3) == 0,
	}
	c.EndTimeZone = c.StartTimeZone
	switch rng.Intn(4) {
	case 0:
		c.CalendarItemType = ews.ItemTypeSingle
	case 1:
		c.CalendarItemType, c.IsRecurring = ews.ItemTypeOccurrence, true
		c.RecurrenceId, c.OriginalStart = start, start
	case 2:
		c.CalendarItemType, c.IsRecurring = ews.ItemTypeException, true
		c.RecurrenceId, c.OriginalStart = start.Add(-24*time.Hour), start.Add(-24*time.Hour)
	case 3: // all-day
		c.CalendarItemType, c.IsAllDayEvent = ews.ItemTypeSingle, true
		c.Start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
		c.End = c.Start.Add(24 * time.Hour * time.Duration(1+rng.Intn(3)))
		c.StartTimeZone = "W. Europe Standard Time"
	}
	if rng.Intn(2) == 0 {
		c.Organizer = &ews.Mailbox{Name: "Alice <Example>", EmailAddress: "alice@contoso.com", RoutingType: "SMTP", MailboxType: "Mailbox"}
	}
	if rng.Intn(3) == 0 {
		c.RequiredAttendees = []ews.Attendee{{Mailbox: ews.Mailbox{Name: "Bob", EmailAddress: "bob@contoso.com", RoutingType: "SMTP"}, ResponseType: ews.ResponseAccept, LastResponseTime: start.Add(-time.Hour)}}
		c.OptionalAttendees = []ews.Attendee{{Mailbox: ews.Mailbox{EmailAddress: "carol@contoso.com"}, ResponseType: ews.ResponseUnknown}}
		c.Resources = []ews.Attendee{{Mailbox: ews.Mailbox{Name: "Room 1", EmailAddress: "room1@contoso.com", MailboxType: "Mailbox"}}}
	}
	if rng.Intn(3) == 0 {
		c.Categories = []string{"Red category", "Ünïcode & more"}
	}
	if rng.Intn(3) == 0 {
		c.Body = &ews.Body{Type: ews.BodyHTML, Text: "<p>Agenda &amp; notes</p>\n\tend"}
	}
	if c.CalendarItemType == ews.ItemTypeException && rng.Intn(2) == 0 {
		occ := ews.OccurrenceInfo{ItemId: ews.ItemId{Id: "occ1", ChangeKey: "ck"}, Start: start, End: start.Add(time.Hour), OriginalStart: start}
		c.FirstOccurrence, c.LastOccurrence = &occ, &occ
		c.ModifiedOccurrences = []ews.OccurrenceInfo{occ, occ}
		c.DeletedOccurrences = []ews.DeletedOccurrence{{Start: start.Add(48 * time.Hour)}}
	}
	return c
}

// rewriteForms write the same response as other servers may: prefixes of
// their choice, the types namespace as default, comments, CDATA and
// character references, CRLF line ends and white space between elements.
var rewriteForms = []func(testing.TB, []byte) []byte{
	func(_ testing.TB, b []byte) []byte { return b },
	func(tb testing.TB, b []byte) []byte {
		return reprint(tb, b, map[string]string{ewswire.NSSOAP11: "soap", ewswire.NSMessages: "m", ewswire.NSTypes: "t"}, false)
	},
	func(tb testing.TB, b []byte) []byte {
		return reprint(tb, b, map[string]string{ewswire.NSSOAP11: "S", ewswire.NSMessages: "ns2", ewswire.NSTypes: ""}, true)
	},
	func(tb testing.TB, b []byte) []byte {
		return reprint(tb, b, map[string]string{ewswire.NSSOAP11: "", ewswire.NSMessages: "x", ewswire.NSTypes: "y"}, true)
	},
}

// reprint re-encodes an envelope with the given prefix per namespace
// ("" = default namespace), declared on the root element; decorate adds
// comments, CDATA sections, character references, CRLF and indentation.
func reprint(tb testing.TB, in []byte, prefixes map[string]string, decorate bool) []byte {
	dec := xml.NewDecoder(bytes.NewReader(in))
	var out bytes.Buffer
	out.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\r\n")
	qname := func(n xml.Name) string {
		if p := prefixes[n.Space]; p != "" {
			return p + ":" + n.Local
		}
		return n.Local
	}
	first, count := true, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out.Bytes()
		}
		if err != nil {
			tb.Fatal(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if decorate && count%7 == 0 {
				out.WriteString("\r\n  <!-- server note -->")
			}
			out.WriteString("<" + qname(t.Name))
			if first {
				for ns, p := range prefixes {
					if p == "" {
						fmt.Fprintf(&out, ` xmlns="%s"`, ns)
					} else {
						fmt.Fprintf(&out, ` xmlns:%s="%s"`, p, ns)
					}
				}
				first = false
			}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				// A namespaced attribute keeps its namespace when the form
				// names a prefix for it (xsi:type of Autodiscover).
				if p := prefixes[a.Name.Space]; a.Name.Space != "" && p != "" {
					out.WriteString(" " + p + ":" + a.Name.Local + `="`)
				} else {
					out.WriteString(" " + a.Name.Local + `="`)
				}
				_ = xml.EscapeText(&out, []byte(a.Value))
				out.WriteString(`"`)
			}
			out.WriteString(">")
		case xml.EndElement:
			out.WriteString("</" + qname(t.Name) + ">")
		case xml.CharData:
			switch {
			case decorate && count%3 == 0 && !bytes.Contains(t, []byte("]]>")):
				out.WriteString("<![CDATA[" + string(t) + "]]>")
			case decorate && count%3 == 1:
				for _, r := range string(t) {
					if r == '\n' {
						out.WriteString("&#10;")
					} else if r > 127 || r == '&' || r == '<' {
						fmt.Fprintf(&out, "&#x%X;", r)
					} else {
						out.WriteRune(r)
					}
				}
			default:
				_ = xml.EscapeText(&out, t)
			}
		}
	}
}

// seedCalendarViews adds generated CalendarView answers in every rewrite
// form to a fuzz corpus, so that mutations explore the token decoder.
func seedCalendarViews(f *testing.F) {
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 3; i++ {
		data := encodeFindItem(f, []ews.CalendarItem{randomItem(rng, i), randomItem(rng, i+10)}, i%2 == 0)
		for _, form := range rewriteForms {
			f.Add(form(f, data))
		}
	}
}

// TestFastDecoderRecycledAnswersStayApart: the CalendarView decoder, its
// intern table and string blocks are reused from answer to answer and
// across goroutines; an answer decoded earlier keeps its values, and
// every answer equals encoding/xml's (run with -race).
func TestFastDecoderRecycledAnswersStayApart(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	answers := make([][]byte, 4)
	want := make([]*ewswire.CalendarItemsResponse, len(answers))
	for i := range answers {
		items := make([]ews.CalendarItem, 1+rng.Intn(20))
		for j := range items {
			items[j] = randomItem(rng, i*100+j)
		}
		answers[i] = encodeFindItem(t, items, i%2 == 0)
		var err error
		if want[i], err = ewswire.DecodeFindItemCalendar(answers[i], ewswire.DefaultLimits); err != nil {
			t.Fatal(err)
		}
		compareDecoders(t, fmt.Sprint("answer ", i), answers[i], ewswire.DefaultLimits)
	}
	decodeConcurrently(t, answers, want, func(answer []byte) (*ewswire.CalendarItemsResponse, error) {
		return ewswire.DecodeFindItemCalendar(answer, ewswire.DefaultLimits)
	})
}

// TestFastScannerCommonDeclarationMatchesTheExpression: the declaration
// the scanner takes without its expression is one the expression accepts,
// and an answer with it still decodes like encoding/xml's.
func TestFastScannerCommonDeclarationMatchesTheExpression(t *testing.T) {
	if !ewswire.XMLDeclRE.Match(ewswire.CommonXMLDecl) {
		t.Fatalf("%s is not a declaration the expression accepts", ewswire.CommonXMLDecl)
	}
	good := encodeFindItem(t, []ews.CalendarItem{randomItem(rand.New(rand.NewSource(2)), 1)}, true)
	if !bytes.HasPrefix(good, ewswire.CommonXMLDecl) || !compareDecoders(t, "common declaration", good, ewswire.DefaultLimits) {
		t.Fatalf("an answer with the common declaration is not decoded by the token decoder:\n%s", good)
	}
}
