package ewswire

import (
	"encoding/xml"

	"github.com/calsync/calsync/ews"
)

// GetFolder is m:GetFolderType ([MS-OXWSFOLD] GetFolder).
type GetFolder struct {
	XMLName     xml.Name    `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetFolder"`
	FolderShape FolderShape `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FolderShape"`
	FolderIds   FolderIds   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FolderIds"`
}

// GetFolderResponse is m:GetFolderResponseType.
type GetFolderResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetFolderResponse"`
	ResponseMessages struct {
		Messages []FolderInfoResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetFolderResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// FolderInfoResponseMessage is m:FolderInfoResponseMessageType.
type FolderInfoResponseMessage struct {
	ResponseMessage
	Folders Folders `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Folders,omitempty"`
}

// FindItem is m:FindItemType ([MS-OXWSSRCH] FindItem) with the two views
// calsync uses.
type FindItem struct {
	XMLName             xml.Name             `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FindItem"`
	Traversal           string               `xml:"Traversal,attr"`
	ItemShape           ItemShape            `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemShape"`
	IndexedPageItemView *IndexedPageItemView `xml:"http://schemas.microsoft.com/exchange/services/2006/messages IndexedPageItemView,omitempty"`
	CalendarView        *CalendarView        `xml:"http://schemas.microsoft.com/exchange/services/2006/messages CalendarView,omitempty"`
	ParentFolderIds     FolderIds            `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ParentFolderIds"`
}

// IndexedPageItemView is t:IndexedPageViewType.
type IndexedPageItemView struct {
	MaxEntriesReturned int    `xml:"MaxEntriesReturned,attr,omitempty"`
	Offset             int    `xml:"Offset,attr"`
	BasePoint          string `xml:"BasePoint,attr"`
}

// CalendarView is t:CalendarViewType.
type CalendarView struct {
	MaxEntriesReturned int      `xml:"MaxEntriesReturned,attr,omitempty"`
	StartDate          DateTime `xml:"StartDate,attr"`
	EndDate            DateTime `xml:"EndDate,attr"`
}

// FindItemResponse is m:FindItemResponseType.
type FindItemResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FindItemResponse"`
	ResponseMessages struct {
		Messages []FindItemResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FindItemResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
	// ItemBuffer, when not nil, is where DecodeResponse's token decoder
	// puts a CalendarView answer's items (from length 0; a larger answer
	// gets a new slice): a caller that converts the items at once and
	// reuses the buffer allocates none (about 650 bytes per item).
	// encoding/xml's path leaves it unused.
	ItemBuffer []ews.CalendarItem `xml:"-"`
}

// FindItemResponseMessage is m:FindItemResponseMessageType.
type FindItemResponseMessage struct {
	ResponseMessage
	RootFolder *FindItemRootFolder `xml:"http://schemas.microsoft.com/exchange/services/2006/messages RootFolder,omitempty"`
}

// FindItemRootFolder is t:FindItemParentType.
type FindItemRootFolder struct {
	IndexedPagingOffset     *int  `xml:"IndexedPagingOffset,attr,omitempty"`
	TotalItemsInView        int   `xml:"TotalItemsInView,attr"`
	IncludesLastItemInRange bool  `xml:"IncludesLastItemInRange,attr"`
	Items                   Items `xml:"http://schemas.microsoft.com/exchange/services/2006/types Items"`
}

// GetItem is m:GetItemType ([MS-OXWSCORE] GetItem).
type GetItem struct {
	XMLName   xml.Name  `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetItem"`
	ItemShape ItemShape `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemShape"`
	ItemIds   ItemIds   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemIds"`
}

// GetItemResponse is m:GetItemResponseType.
type GetItemResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetItemResponse"`
	ResponseMessages struct {
		Messages []ItemInfoResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetItemResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// ItemInfoResponseMessage is m:ItemInfoResponseMessageType (GetItem and
// CreateItem answers).
type ItemInfoResponseMessage struct {
	ResponseMessage
	Items Items `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Items"`
}

// SyncFolderItems is m:SyncFolderItemsType ([MS-OXWSSYNC]).
type SyncFolderItems struct {
	XMLName            xml.Name     `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncFolderItems"`
	ItemShape          ItemShape    `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemShape"`
	SyncFolderId       TargetFolder `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncFolderId"`
	SyncState          string       `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncState,omitempty"`
	Ignore             *ItemIds     `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Ignore,omitempty"`
	MaxChangesReturned int          `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MaxChangesReturned"`
	SyncScope          string       `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncScope,omitempty"`
}

// SyncFolderItemsResponse is m:SyncFolderItemsResponseType.
type SyncFolderItemsResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncFolderItemsResponse"`
	ResponseMessages struct {
		Messages []SyncFolderItemsResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncFolderItemsResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// SyncFolderItemsResponseMessage is m:SyncFolderItemsResponseMessageType.
type SyncFolderItemsResponseMessage struct {
	ResponseMessage
	SyncState               string       `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncState,omitempty"`
	IncludesLastItemInRange *bool        `xml:"http://schemas.microsoft.com/exchange/services/2006/messages IncludesLastItemInRange,omitempty"`
	Changes                 *SyncChanges `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Changes,omitempty"`
}

// SyncChange is one t:Create, t:Update, t:Delete or t:ReadFlagChange.
type SyncChange struct {
	// Kind is "Create", "Update", "Delete" or "ReadFlagChange".
	Kind         string
	CalendarItem *CalendarItem
	// Other is a non-calendar item of a Create/Update.
	Other  *GenericItem
	ItemId *ItemId
	IsRead bool
}

// SyncChanges is t:SyncFolderItemsChangesType, order kept.
type SyncChanges []SyncChange

// UnmarshalXML reads the changes in order.
func (s *SyncChanges) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			ch := SyncChange{Kind: t.Name.Local}
			switch t.Name.Local {
			case "Create", "Update":
				var items Items
				if err := d.DecodeElement(&items, &t); err != nil {
					return err
				}
				if len(items.CalendarItem) > 0 {
					ch.CalendarItem = &items.CalendarItem[0]
					ch.ItemId = ch.CalendarItem.ItemId
				} else if len(items.Other) > 0 {
					ch.Other = &items.Other[0]
					ch.ItemId = ch.Other.ItemId
				}
			case "Delete", "ReadFlagChange":
				var w struct {
					ItemId *ItemId `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
					IsRead bool    `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsRead"`
				}
				if err := d.DecodeElement(&w, &t); err != nil {
					return err
				}
				ch.ItemId, ch.IsRead = w.ItemId, w.IsRead
			default:
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			*s = append(*s, ch)
		case xml.EndElement:
			return nil
		}
	}
}

// MarshalXML writes the changes in order.
func (s SyncChanges) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, ch := range s {
		el := xml.StartElement{Name: xml.Name{Space: NSTypes, Local: ch.Kind}}
		var err error
		switch ch.Kind {
		case "Create", "Update":
			if ch.CalendarItem == nil {
				continue
			}
			err = e.EncodeElement(Items{CalendarItem: []CalendarItem{*ch.CalendarItem}}, el)
		case "Delete":
			err = e.EncodeElement(struct {
				ItemId *ItemId `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
			}{ch.ItemId}, el)
		case "ReadFlagChange":
			err = e.EncodeElement(struct {
				ItemId *ItemId `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
				IsRead bool    `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsRead"`
			}{ch.ItemId, ch.IsRead}, el)
		}
		if err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}
