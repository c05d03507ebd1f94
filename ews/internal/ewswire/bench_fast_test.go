package ewswire_test

import (
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
