package ewswire_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

var benchStart = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// calendarViewResponse builds a FindItem CalendarView response with n
// occurrences carrying the default CalendarView properties.
func calendarViewResponse(tb testing.TB, n int) []byte {
	items := make([]ews.CalendarItem, n)
	for i := range items {
		items[i] = ews.CalendarItem{
			ItemId:               ews.ItemId{Id: fmt.Sprintf("AAMkADllMTlhYmUxLTg5MTctNDI4ZS1iNDdlLTM2NTk2Y2E5ODA0MwFRAAgI3Q%06dAA=", i), ChangeKey: "DwAAABYAAAC30utV9Qm1Tp6i563HuBDKAAER7BnE"},
			Subject:              fmt.Sprintf("Weekly sync %d", i),
			Sensitivity:          ews.SensitivityNormal,
			UID:                  fmt.Sprintf("040000008200E00074C5B7101A82E00800000000%08d", i),
			Start:                benchStart.Add(time.Duration(i) * 30 * time.Minute),
			End:                  benchStart.Add(time.Duration(i)*30*time.Minute + 25*time.Minute),
			LegacyFreeBusyStatus: ews.FreeBusyBusy,
			Location:             "Room 4.12",
			IsMeeting:            true,
			IsRecurring:          true,
			CalendarItemType:     ews.ItemTypeOccurrence,
			MyResponseType:       ews.ResponseAccept,
			Organizer:            &ews.Mailbox{Name: "Alice Example", EmailAddress: "alice@contoso.com", RoutingType: "SMTP"},
			AppointmentState:     ews.AppointmentMeeting | ews.AppointmentReceived,
			StartTimeZone:        "W. Europe Standard Time",
		}
	}
	r := &ewswire.FindItemResponse{}
	r.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: ewswire.Success(),
		RootFolder: &ewswire.FindItemRootFolder{TotalItemsInView: n, IncludesLastItemInRange: true, Items: *ewswire.ItemsOf(items)}}}
	b, err := ewswire.Marshal(&ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 2, MajorBuildNumber: 1544, MinorBuildNumber: 4}}, r)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// streamingResponse builds a GetStreamingEvents body: a heartbeat, n
// envelopes with one notification (two events) each, and Closed.
func streamingResponse(tb testing.TB, n int) []byte {
	var buf bytes.Buffer
	sw := ewswire.NewStreamWriter(&buf, nil).SchemaNamespace() // validated below
	_ = sw.Write(ewswire.ConnectionStatusMessage(ews.ConnectionOK))
	for i := 0; i < n; i++ {
		id := ews.ItemId{Id: fmt.Sprintf("AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwBGAAAAAABSSWVKrmGU%06d", i), ChangeKey: "CQAAAA=="}
		parent := ews.FolderId{Id: "AQMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAADUkllSq5hlEyRPjFSL6H4JQEA2RgAmUKUoEqcjZHsWHtm", ChangeKey: "AQAAAA=="}
		err := sw.Write(ewswire.NotificationsMessage(ews.Notification{SubscriptionId: fmt.Sprintf("JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAAD%05d", i%200), Events: []ews.Event{
			{Type: ews.EventModified, TimeStamp: benchStart, ItemId: &id, ParentFolderId: &parent, UnreadCount: -1},
			{Type: ews.EventCreated, TimeStamp: benchStart, ItemId: &id, ParentFolderId: &parent, UnreadCount: -1},
		}}))
		if err != nil {
			tb.Fatal(err)
		}
	}
	_ = sw.Write(ewswire.ConnectionStatusMessage(ews.ConnectionClosed))
	return buf.Bytes()
}

// BenchmarkDecodeCalendarView1000 decodes a 1,000-item CalendarView
// response and converts every item to ews.CalendarItem.
func BenchmarkDecodeCalendarView1000(b *testing.B) {
	data := calendarViewResponse(b, 1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var resp ewswire.FindItemResponse
		if _, err := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.DefaultLimits, ewswire.Expect(&resp)); err != nil {
			b.Fatal(err)
		}
		items, err := resp.ResponseMessages.Messages[0].RootFolder.Items.CalendarItems()
		if err != nil || len(items) != 1000 {
			b.Fatalf("items = %d, %v", len(items), err)
		}
	}
}

// BenchmarkStreamingDecode200 decodes a streaming body carrying 200
// notifications (one envelope each) and converts them.
func BenchmarkStreamingDecode200(b *testing.B) {
	data := streamingResponse(b, 200)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := ewswire.NewStreamReader(bytes.NewReader(data), ewswire.DefaultLimits)
		count := 0
		for {
			env, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range env.Body.(*ewswire.GetStreamingEventsResponse).ResponseMessages.Messages {
				for _, n := range m.Notifications.All() {
					if _, err := n.ToEWS(); err != nil {
						b.Fatal(err)
					}
					count++
				}
			}
		}
		if count != 200 {
			b.Fatalf("notifications = %d", count)
		}
	}
}

// BenchmarkEncodeCalendarView1000 encodes the same response (the
// simulator's cost per 1,000-item CalendarView).
func BenchmarkEncodeCalendarView1000(b *testing.B) {
	data := calendarViewResponse(b, 1000)
	var resp ewswire.FindItemResponse
	if _, err := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.DefaultLimits, ewswire.Expect(&resp)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := ewswire.EncodeEnvelope(io.Discard, nil, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchmarkInputsValidate keeps the benchmark inputs schema-valid.
func TestBenchmarkInputsValidate(t *testing.T) {
	if testing.Short() {
		t.Skip("schema validation of large inputs")
	}
	validate(t, "calendarview-1000", calendarViewResponse(t, 1000))
	validate(t, "streaming-200", streamingResponse(t, 200))
}
