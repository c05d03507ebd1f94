package ewswire_test

import (
	"bytes"
	"testing"

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
