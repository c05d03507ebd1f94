package ewswire_test

import (
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// BenchmarkMarshalCalendarViewRequest encodes the request the client sends
// for every mailbox's window: a FindItem CalendarView with the version and
// impersonation headers.
func BenchmarkMarshalCalendarViewRequest(b *testing.B) {
	ref, err := ewswire.FolderRefFrom(ews.CalendarFolder())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	w := &ewswire.FindItem{
		Traversal:       "Shallow",
		ItemShape:       ewswire.ItemShape{BaseShape: "IdOnly", AdditionalProperties: ewswire.Paths("item:Subject", "calendar:Start", "calendar:End", "calendar:Location", "calendar:UID")},
		CalendarView:    &ewswire.CalendarView{MaxEntriesReturned: 1000, StartDate: ewswire.DateTime{Time: start}, EndDate: ewswire.DateTime{Time: start.Add(15 * 24 * time.Hour)}},
		ParentFolderIds: ewswire.FolderIds{ref},
	}
	h := &ewswire.Header{RequestServerVersion: &ewswire.RequestServerVersion{Version: "Exchange2016"},
		Impersonation: &ewswire.ExchangeImpersonation{ConnectingSID: ewswire.ConnectingSID{PrimarySmtpAddress: "user00042@example.com"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ewswire.Marshal(h, w); err != nil {
			b.Fatal(err)
		}
	}
}
