package ewsserver

import "testing"

func TestFindItemParts(t *testing.T) {
	const env = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body>`
	const end = `</s:Body></s:Envelope>`
	const shape = `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>`
	const folders = `<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds>`
	const restriction = `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="x"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`
	tests := []struct {
		name string
		body string
		want findItemExtras
	}{
		{"plain view", `<m:FindItem Traversal="Shallow">` + shape + `<m:CalendarView StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-09T00:00:00Z"/>` + folders + `</m:FindItem>`, findItemExtras{}},
		{"max given", `<m:FindItem Traversal="Shallow">` + shape + `<m:CalendarView MaxEntriesReturned="0" StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-09T00:00:00Z"/>` + folders + `</m:FindItem>`,
			findItemExtras{CalendarViewMaxGiven: true}},
		{"restriction and sort order", `<m:FindItem Traversal="Shallow">` + shape + `<m:CalendarView StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-09T00:00:00Z"/>` + restriction +
			`<m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="calendar:Start"/></t:FieldOrder></m:SortOrder>` + folders + `</m:FindItem>`,
			findItemExtras{Restriction: true, SortOrder: true}},
		{"default namespace", `<FindItem xmlns="http://schemas.microsoft.com/exchange/services/2006/messages" Traversal="Shallow"><ItemShape><BaseShape xmlns="http://schemas.microsoft.com/exchange/services/2006/types">IdOnly</BaseShape></ItemShape><Restriction/></FindItem>`,
			findItemExtras{Restriction: true}},
		{"seek to condition", `<m:FindItem Traversal="Shallow">` + shape + `<m:SeekToConditionPageItemView BasePoint="Beginning"><t:Condition><t:IsEqualTo/></t:Condition></m:SeekToConditionPageItemView>` + folders + `</m:FindItem>`,
			findItemExtras{SeekToCondition: true}},
		{"types namespace is not the element", `<m:FindItem Traversal="Shallow">` + shape + `<t:Restriction/>` + folders + `</m:FindItem>`, findItemExtras{}},
		{"nested names do not count", `<m:FindItem Traversal="Shallow">` + shape + `<m:IndexedPageItemView Offset="0" BasePoint="Beginning"><m:Restriction/><m:SortOrder/></m:IndexedPageItemView>` + folders + `</m:FindItem>`, findItemExtras{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findItemParts([]byte(env + tt.body + end)); got != tt.want {
				t.Errorf("findItemParts() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
