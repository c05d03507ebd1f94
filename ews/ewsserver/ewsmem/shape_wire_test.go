package ewsmem_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

// BaseShape IdOnly with FieldURIs answers exactly those properties (and
// the id), in GetItem, FindItem and SyncFolderItems: a client that reads a
// property it did not ask for must not find it here either.
func TestIdOnlyShapeAnswersOnlyTheNamedProperties(t *testing.T) {
	e := newWireEnv(t, ewssim.Options{Basic: true})
	user := "user1@example.com"
	id, err := e.sim.AddCalendarItem(user, ews.CalendarItem{Subject: "Named", Location: "Room 7", IsMeeting: true, IsCancelled: true,
		Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour), StartTimeZone: "W. Europe Standard Time"})
	if err != nil {
		t.Fatal(err)
	}
	shape := `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="calendar:Start"/><t:FieldURI FieldURI="calendar:StartTimeZoneId"/></t:AdditionalProperties></m:ItemShape>`
	for _, tt := range []struct{ name, body string }{
		{"GetItem", `<m:GetItem>` + shape + `<m:ItemIds><t:ItemId Id="` + id.Id + `"/></m:ItemIds></m:GetItem>`},
		{"FindItem", `<m:FindItem Traversal="Shallow">` + shape + `<m:CalendarView StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-03T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`},
		{"SyncFolderItems", `<m:SyncFolderItems>` + shape + `<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, data := e.post(envelope("Exchange2013_SP1", user, tt.body), "X-AnchorMailbox", user)
			if status != 200 {
				t.Fatalf("HTTP %d\n%s", status, data)
			}
			ewsschema.Validate(t, tt.name, data)
			if !bytes.Contains(data, []byte("<Subject>Named</Subject>")) || !bytes.Contains(data, []byte("<StartTimeZoneId>W. Europe Standard Time</StartTimeZoneId>")) {
				t.Errorf("named properties missing:\n%s", data)
			}
			for _, unnamed := range []string{"<End>", "<Location>", "<IsCancelled>", "<IsMeeting>", "<LegacyFreeBusyStatus>", "<CalendarItemType>", "<ParentFolderId"} {
				if bytes.Contains(data, []byte(unnamed)) {
					t.Errorf("%s answered though not asked for:\n%s", unnamed, data)
				}
			}
			if tt.name == "GetItem" {
				var r ewswire.GetItemResponse
				decode(t, data, &r)
				c, err := r.ResponseMessages.Messages[0].Items.CalendarItem[0].ToEWS()
				if err != nil || c.ItemId.Id != id.Id || !c.Start.Equal(t0.Add(time.Hour)) {
					t.Errorf("item = %+v, %v", c, err)
				}
			}
		})
	}
}
