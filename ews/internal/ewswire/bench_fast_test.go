package ewswire_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"testing"
	"time"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

// BenchmarkDecodeCalendarView1000Fast decodes the same 1,000-item
// CalendarView response as BenchmarkDecodeCalendarView1000 with the
// token decoder (DecodeFindItemCalendar), items converted.
func BenchmarkDecodeCalendarView1000Fast(b *testing.B) {
	data := calendarViewResponse(b, 1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := ewswire.DecodeFindItemCalendar(data, ewswire.DefaultLimits)
		if err != nil || len(resp.Items) != 1000 {
			b.Fatalf("items = %v, %v", resp, err)
		}
	}
}

// BenchmarkDecodeFindItem1000 is the client's path: the body read from a
// stream into a pooled buffer, then the token decoder.
func BenchmarkDecodeFindItem1000(b *testing.B) {
	data := calendarViewResponse(b, 1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var resp ewswire.FindItemResponse
		if _, err := ewswire.DecodeFindItem(bytes.NewReader(data), ewswire.DefaultLimits, &resp); err != nil {
			b.Fatal(err)
		}
		items, err := resp.ResponseMessages.Messages[0].RootFolder.Items.CalendarItems()
		if err != nil || len(items) != 1000 {
			b.Fatalf("items = %d, %v", len(items), err)
		}
	}
}

// BenchmarkDecodeSubscribe is the client's path for a Subscribe answer
// (DecodeResponse: token decoder); BenchmarkDecodeSubscribeXML decodes the
// same answer with encoding/xml, as before.
func BenchmarkDecodeSubscribe(b *testing.B) {
	data := subscribeAnswer(b)
	b.ReportAllocs()
	for b.Loop() {
		var resp ewswire.SubscribeResponse
		if _, err := ewswire.DecodeResponse(bytes.NewReader(data), ewswire.DefaultLimits, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSubscribeXML(b *testing.B) {
	data := subscribeAnswer(b)
	b.ReportAllocs()
	for b.Loop() {
		var resp ewswire.SubscribeResponse
		if _, err := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.DefaultLimits, ewswire.Expect(&resp)); err != nil {
			b.Fatal(err)
		}
	}
}

func subscribeAnswer(b *testing.B) []byte {
	r := &ewswire.SubscribeResponse{}
	r.ResponseMessages.Messages = []ewswire.SubscribeResponseMessage{{ResponseMessage: ewswire.Success(), SubscriptionId: "JgBkAG0AZXNzYWdlaWQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}}
	data, err := ewswire.Marshal(&ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 20, MajorBuildNumber: 7, Version: "V2018_01_08"}}, r)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodeAvailability100 decodes the answer of one zone batch of
// the first load: 100 mailboxes' FreeBusy views, each with three events and
// working hours (what the simulator sends).
func BenchmarkDecodeAvailability100(b *testing.B) {
	data := availabilityAnswer(b)
	b.ReportAllocs()
	for b.Loop() {
		var resp ewswire.GetUserAvailabilityResponse
		if _, err := ewswire.DecodeResponse(bytes.NewReader(data), ewswire.DefaultLimits, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAvailability100XML(b *testing.B) {
	data := availabilityAnswer(b)
	b.ReportAllocs()
	for b.Loop() {
		var resp ewswire.GetUserAvailabilityResponse
		if _, err := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.DefaultLimits, ewswire.Expect(&resp)); err != nil {
			b.Fatal(err)
		}
	}
}

func availabilityAnswer(b *testing.B) []byte {
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	r := &ewswire.GetUserAvailabilityResponse{}
	for i := range 100 {
		v := &ewswire.FreeBusyView{FreeBusyViewType: "FreeBusy", CalendarEventArray: &ewswire.CalendarEventArray{}}
		for j := range 3 {
			start := day.Add(time.Duration(8+2*j+i%2) * time.Hour)
			v.CalendarEventArray.CalendarEvent = append(v.CalendarEventArray.CalendarEvent, ewswire.CalendarEvent{
				StartTime: ewswire.LocalDateTime{Time: start}, EndTime: ewswire.LocalDateTime{Time: start.Add(time.Hour)}, BusyType: "Busy"})
		}
		v.WorkingHours = &ewswire.WorkingHours{TimeZone: ewswire.SerializableTimeZone{Bias: -60,
			StandardTime: ewswire.SerializableTimeZoneTime{Time: "03:00:00", DayOrder: 5, Month: 10, DayOfWeek: "Sunday"},
			DaylightTime: ewswire.SerializableTimeZoneTime{Bias: -60, Time: "02:00:00", DayOrder: 5, Month: 3, DayOfWeek: "Sunday"}}}
		v.WorkingHours.WorkingPeriodArray.WorkingPeriod = []ewswire.WorkingPeriod{{DayOfWeek: "Monday Tuesday Wednesday Thursday Friday", StartTimeInMinutes: 480, EndTimeInMinutes: 1020}}
		ok := ewswire.Success()
		r.FreeBusyResponseArray.FreeBusyResponse = append(r.FreeBusyResponseArray.FreeBusyResponse, ewswire.FreeBusyResponse{ResponseMessage: &ok, FreeBusyView: v})
	}
	data, err := ewswire.Marshal(&ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 20, MajorBuildNumber: 7, Version: "V2018_01_08"}}, r)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodeUserSettings90 decodes one SOAP Autodiscover answer of a
// cold start: 90 users (Exchange's most per request), the six settings
// calsync asks for each.
func BenchmarkDecodeUserSettings90(b *testing.B) {
	data := userSettingsAnswer(b)
	b.ReportAllocs()
	for b.Loop() {
		var resp ewswire.GetUserSettingsResponseMessage
		if _, err := ewswire.DecodeResponse(bytes.NewReader(data), ewswire.DefaultLimits, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeUserSettings90XML(b *testing.B) {
	data := userSettingsAnswer(b)
	b.ReportAllocs()
	for b.Loop() {
		var resp ewswire.GetUserSettingsResponseMessage
		if _, err := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.DefaultLimits, ewswire.Expect(&resp)); err != nil {
			b.Fatal(err)
		}
	}
}

func userSettingsAnswer(b *testing.B) []byte {
	r := &ewswire.GetUserSettingsResponseMessage{}
	r.Response.ErrorCode = "NoError"
	names := []string{"InternalEwsUrl", "ExternalEwsUrl", "GroupingInformation", "EwsSupportedSchemas", "CasVersion", "InternalMailboxServer"}
	for i := range 90 {
		u := ewswire.UserResponse{ErrorCode: "NoError", ErrorMessage: "No error."}
		u.SetSettings(map[string]string{"InternalEwsUrl": "https://mail.contoso.com/EWS/Exchange.asmx", "ExternalEwsUrl": "https://mail.contoso.com/EWS/Exchange.asmx",
			"GroupingInformation": fmt.Sprintf("DAG%02d", i%4), "EwsSupportedSchemas": "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2015, Exchange2016",
			"CasVersion": "15.2.1544.4", "InternalMailboxServer": fmt.Sprintf("mbx%02d.contoso.com", i%4)}, names)
		r.Response.UserResponses.UserResponse = append(r.Response.UserResponses.UserResponse, u)
	}
	data, err := ewswire.Marshal(&ewswire.Header{Action: &ewswire.AddressingHeader{XMLName: xml.Name{Space: ewswire.NSAddressing, Local: "Action"},
		Value: ewswire.AutodiscoverActionGetUserSettings + "Response"}}, r)
	if err != nil {
		b.Fatal(err)
	}
	return data
}
