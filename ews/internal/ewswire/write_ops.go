package ewswire

import (
	"encoding/xml"
	"fmt"
)

// CreateItem is m:CreateItemType ([MS-OXWSCORE] CreateItem) for calendar
// items.
type CreateItem struct {
	XMLName                xml.Name      `xml:"http://schemas.microsoft.com/exchange/services/2006/messages CreateItem"`
	MessageDisposition     string        `xml:"MessageDisposition,attr,omitempty"`
	SendMeetingInvitations string        `xml:"SendMeetingInvitations,attr,omitempty"`
	SavedItemFolderId      *TargetFolder `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SavedItemFolderId,omitempty"`
	Items                  Items         `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Items"`
}

// CreateItemResponse is m:CreateItemResponseType.
type CreateItemResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages CreateItemResponse"`
	ResponseMessages struct {
		Messages []ItemInfoResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages CreateItemResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// UpdateItem is m:UpdateItemType.
type UpdateItem struct {
	XMLName                               xml.Name      `xml:"http://schemas.microsoft.com/exchange/services/2006/messages UpdateItem"`
	ConflictResolution                    string        `xml:"ConflictResolution,attr"`
	MessageDisposition                    string        `xml:"MessageDisposition,attr,omitempty"`
	SendMeetingInvitationsOrCancellations string        `xml:"SendMeetingInvitationsOrCancellations,attr,omitempty"`
	SavedItemFolderId                     *TargetFolder `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SavedItemFolderId,omitempty"`
	ItemChanges                           struct {
		ItemChange []ItemChange `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemChange"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemChanges"`
}

// ItemChange is t:ItemChangeType: the item (any id form) and its updates.
type ItemChange struct {
	Item    ItemRef
	Updates []FieldUpdate
}

// FieldUpdate is one t:SetItemField, t:AppendToItemField or
// t:DeleteItemField of the property named by FieldURI or, when set,
// ExtendedField. Item holds the new value for Set/Append (only that
// property is set; an extended property as its one t:ExtendedProperty).
type FieldUpdate struct {
	// Kind is "SetItemField", "AppendToItemField" or "DeleteItemField".
	Kind          string
	FieldURI      string
	ExtendedField *ExtendedFieldURI
	Item          *CalendarItem
}

// MarshalXML writes the id element then t:Updates.
func (c ItemChange) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if err := c.Item.encode(e); err != nil {
		return err
	}
	updates := xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "Updates"}}
	if err := e.EncodeToken(updates); err != nil {
		return err
	}
	for _, u := range c.Updates {
		el := xml.StartElement{Name: xml.Name{Space: NSTypes, Local: u.Kind}}
		if err := e.EncodeToken(el); err != nil {
			return err
		}
		if u.ExtendedField != nil {
			if err := e.EncodeElement(u.ExtendedField, xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "ExtendedFieldURI"}}); err != nil {
				return err
			}
		} else if err := e.EncodeElement(FieldURI{FieldURI: u.FieldURI}, xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "FieldURI"}}); err != nil {
			return err
		}
		if u.Kind != "DeleteItemField" {
			if u.Item == nil {
				return fmt.Errorf("ewswire: %s of %s has no value", u.Kind, u.FieldURI)
			}
			if err := e.EncodeElement(u.Item, xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "CalendarItem"}}); err != nil {
				return err
			}
		}
		if err := e.EncodeToken(el.End()); err != nil {
			return err
		}
	}
	if err := e.EncodeToken(updates.End()); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

// UnmarshalXML reads the id element and the updates in order.
func (c *ItemChange) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if r, ok, err := decodeItemRef(d, t); err != nil {
				return err
			} else if ok {
				c.Item = r
				continue
			}
			if t.Name.Local != "Updates" {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			if err := c.decodeUpdates(d); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

func (c *ItemChange) decodeUpdates(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var w struct {
				FieldURI         *FieldURI         `xml:"http://schemas.microsoft.com/exchange/services/2006/types FieldURI"`
				IndexedFieldURI  *RawXML           `xml:"http://schemas.microsoft.com/exchange/services/2006/types IndexedFieldURI"`
				ExtendedFieldURI *ExtendedFieldURI `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedFieldURI"`
				CalendarItem     *CalendarItem     `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarItem"`
			}
			if err := d.DecodeElement(&w, &t); err != nil {
				return err
			}
			u := FieldUpdate{Kind: t.Name.Local, Item: w.CalendarItem, ExtendedField: w.ExtendedFieldURI}
			if w.FieldURI != nil {
				u.FieldURI = w.FieldURI.FieldURI
			}
			c.Updates = append(c.Updates, u)
		case xml.EndElement:
			return nil
		}
	}
}

// UpdateItemResponse is m:UpdateItemResponseType.
type UpdateItemResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages UpdateItemResponse"`
	ResponseMessages struct {
		Messages []UpdateItemResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages UpdateItemResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// UpdateItemResponseMessage is m:UpdateItemResponseMessageType.
type UpdateItemResponseMessage struct {
	ResponseMessage
	Items           Items            `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Items"`
	ConflictResults *ConflictResults `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ConflictResults,omitempty"`
}

// ConflictResults is t:ConflictResultsType.
type ConflictResults struct {
	Count int `xml:"http://schemas.microsoft.com/exchange/services/2006/types Count"`
}

// DeleteItem is m:DeleteItemType.
type DeleteItem struct {
	XMLName                  xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages DeleteItem"`
	DeleteType               string   `xml:"DeleteType,attr"`
	SendMeetingCancellations string   `xml:"SendMeetingCancellations,attr,omitempty"`
	AffectedTaskOccurrences  string   `xml:"AffectedTaskOccurrences,attr,omitempty"`
	ItemIds                  ItemIds  `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemIds"`
}

// DeleteItemResponse is m:DeleteItemResponseType.
type DeleteItemResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages DeleteItemResponse"`
	ResponseMessages struct {
		Messages []ResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages DeleteItemResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}
