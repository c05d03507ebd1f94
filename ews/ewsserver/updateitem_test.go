package ewsserver_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/ewsschema"
)

// CreateItem and UpdateItem answer as Exchange does: the item holds only
// its new ItemId, and UpdateItem always adds ConflictResults/Count 0.
func TestWriteAnswersHoldOnlyTheItemId(t *testing.T) {
	srv := newFakeServer(t, &fakeBackend{}, nil)
	_, created := post(t, srv, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId>`+
		`<m:Items><t:CalendarItem><t:Subject>s</t:Subject><t:Start>2026-12-07T10:00:00Z</t:Start><t:End>2026-12-07T11:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>`)
	_, updated := post(t, srv, `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>`+
		`<t:ItemId Id="x" ChangeKey="k"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>n</t:Subject></t:CalendarItem></t:SetItemField></t:Updates>`+
		`</t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	itemRE := regexp.MustCompile(`<Items><CalendarItem xmlns="http://schemas.microsoft.com/exchange/services/2006/types"><ItemId Id="(\w+)" ChangeKey="(\w+)"></ItemId></CalendarItem></Items>`)
	for name, body := range map[string]string{"CreateItem": created, "UpdateItem": updated} {
		if !itemRE.MatchString(body) {
			t.Errorf("%s answer does not hold the bare ItemId:\n%s", name, body)
		}
		ewsschema.Validate(t, name+"Response", []byte(body))
	}
	if !strings.Contains(updated, `</Items><ConflictResults><Count xmlns="http://schemas.microsoft.com/exchange/services/2006/types">0</Count></ConflictResults></UpdateItemResponseMessage>`) {
		t.Errorf("UpdateItem answer lacks ConflictResults/Count 0 after Items:\n%s", updated)
	}
}
