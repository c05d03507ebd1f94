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
