package ewswire

import (
	"encoding/xml"
	"fmt"

	"github.com/calsync/calsync/ews"
)

// Items is t:ArrayOfRealItemsType (m:Items of responses, t:Items of a
// FindItem root folder): calendar items are decoded, other item kinds are
// kept as GenericItem with their id and class.
type Items struct {
	CalendarItem []CalendarItem `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarItem"`
	Other        []GenericItem  `xml:"-"`
	// converted holds the items DecodeFindItem's token decoder converted
	// already (CalendarItem is then empty); CalendarItems returns them.
	converted []ews.CalendarItem
}

// GenericItem is any non-calendar item (t:Item, t:Message, …), reduced to
// its id and class.
type GenericItem struct {
	Kind      string
	ItemId    *ItemId `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
	ItemClass string  `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemClass"`
}

// UnmarshalXML reads calendar items and reduces other kinds.
func (it *Items) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "CalendarItem" {
				var c CalendarItem
				if err := d.DecodeElement(&c, &t); err != nil {
					return err
				}
				it.CalendarItem = append(it.CalendarItem, c)
				continue
			}
			var g GenericItem
			if err := d.DecodeElement(&g, &t); err != nil {
				return err
			}
			g.Kind = t.Name.Local
			it.Other = append(it.Other, g)
		case xml.EndElement:
			return nil
		}
	}
}

// MarshalXML writes the calendar items (other kinds are never written).
func (it Items) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for i := range it.CalendarItem {
		if err := e.EncodeElement(&it.CalendarItem[i], xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "CalendarItem"}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// CalendarItems converts every calendar item, failing on the first invalid
// one.
func (it *Items) CalendarItems() ([]ews.CalendarItem, error) {
	if it == nil {
		return nil, nil
	}
	if it.converted != nil {
		return it.converted, nil
	}
	out := make([]ews.CalendarItem, 0, len(it.CalendarItem))
	for i := range it.CalendarItem {
		c, err := it.CalendarItem[i].ToEWS()
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Len is the number of items of every kind.
func (it *Items) Len() int {
	return len(it.converted) + len(it.CalendarItem) + len(it.Other)
}

// ItemsOf wraps converted calendar items for a response.
func ItemsOf(items []ews.CalendarItem) *Items {
	it := &Items{}
	for _, c := range items {
		it.CalendarItem = append(it.CalendarItem, *CalendarItemFrom(c))
	}
	return it
}

// ItemIdsOf wraps bare item ids (a calendar item holding only its
// t:ItemId), as Exchange answers CreateItem, UpdateItem and IdOnly shapes.
func ItemIdsOf(ids []ews.ItemId) *Items {
	it := &Items{}
	for _, id := range ids {
		it.CalendarItem = append(it.CalendarItem, CalendarItem{ItemId: ItemIdFrom(id)})
	}
	return it
}

// Folder is t:FolderType / t:CalendarFolderType (and other folder kinds)
// with the properties calsync uses, in BaseFolderType order.
type Folder struct {
	Kind             string             `xml:"-"`
	FolderId         *FolderId          `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderId,omitempty"`
	ParentFolderId   *FolderId          `xml:"http://schemas.microsoft.com/exchange/services/2006/types ParentFolderId,omitempty"`
	FolderClass      string             `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderClass,omitempty"`
	DisplayName      string             `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName,omitempty"`
	TotalCount       *int               `xml:"http://schemas.microsoft.com/exchange/services/2006/types TotalCount,omitempty"`
	ChildFolderCount *int               `xml:"http://schemas.microsoft.com/exchange/services/2006/types ChildFolderCount,omitempty"`
	ExtendedProperty []ExtendedProperty `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedProperty,omitempty"`
}

// Folders is t:ArrayOfFoldersType, order kept.
type Folders []Folder

// UnmarshalXML reads every folder kind.
func (f *Folders) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var x Folder
			if err := d.DecodeElement(&x, &t); err != nil {
				return err
			}
			x.Kind = t.Name.Local
			*f = append(*f, x)
		case xml.EndElement:
			return nil
		}
	}
}

// MarshalXML writes each folder under its Kind (default "Folder").
func (f Folders) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, x := range f {
		kind := x.Kind
		if kind == "" {
			kind = "Folder"
		}
		if err := e.EncodeElement(x, xml.StartElement{Name: xml.Name{Space: NSTypes, Local: kind}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// ToEWS converts the folder.
func (x *Folder) ToEWS() ews.Folder {
	out := ews.Folder{Kind: x.Kind, FolderId: x.FolderId.ToEWS(), ParentFolderId: x.ParentFolderId.ToEWS(), FolderClass: x.FolderClass,
		DisplayName: x.DisplayName, TotalCount: intOf(x.TotalCount), ChildFolderCount: intOf(x.ChildFolderCount)}
	for _, p := range x.ExtendedProperty {
		if out.ExtendedProperties == nil {
			out.ExtendedProperties = map[string]string{}
		}
		out.ExtendedProperties[p.ExtendedFieldURI.PropertyTag] = strOf(p.Value)
	}
	return out
}

// FolderFrom converts an ews folder for a response.
func FolderFrom(f ews.Folder) Folder {
	x := Folder{Kind: f.Kind, FolderId: FolderIdFrom(f.FolderId), ParentFolderId: FolderIdFrom(f.ParentFolderId), FolderClass: f.FolderClass,
		DisplayName: f.DisplayName, TotalCount: intPtr(f.TotalCount), ChildFolderCount: intPtr(f.ChildFolderCount)}
	for _, tag := range ews.SortedValueNames(f.ExtendedProperties) {
		x.ExtendedProperty = append(x.ExtendedProperty, ExtendedProperty{ExtendedFieldURI: ExtendedFieldURI{PropertyTag: tag, PropertyType: extendedTypeOf(tag)}, Value: strPtr(f.ExtendedProperties[tag])})
	}
	return x
}

// extendedTypeOf guesses the MAPI type of the two folder tags calsync uses.
func extendedTypeOf(tag string) string {
	switch tag {
	case "0x670A", "0x670a":
		return "SystemTime"
	}
	return "Integer"
}

// CheckCount returns a protocol error unless got == want (one response
// message per input).
func CheckCount(op string, got, want int) error {
	if got == want {
		return nil
	}
	return &ews.ProtocolError{Op: op, Err: fmt.Errorf("%d response messages for %d inputs", got, want)}
}
