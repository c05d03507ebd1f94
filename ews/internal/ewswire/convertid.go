package ewswire

import "encoding/xml"

// ConvertId is m:ConvertIdType. exchangelib sends it first to learn the
// server version from the answer's ServerVersionInfo.
type ConvertId struct {
	XMLName           xml.Name  `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ConvertId"`
	DestinationFormat string    `xml:"DestinationFormat,attr"`
	SourceIds         SourceIds `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SourceIds"`
}

// SourceIds is t:NonEmptyArrayOfAlternateIdsType: t:AlternateId,
// t:AlternatePublicFolderId and t:AlternatePublicFolderItemId in any order
// (answered in that order).
type SourceIds struct {
	Ids []SourceId `xml:",any"`
}

// SourceId is one source id; XMLName tells its kind.
type SourceId struct {
	XMLName xml.Name
	AlternateId
	FolderId string `xml:"FolderId,attr,omitempty"`
	ItemId   string `xml:"ItemId,attr,omitempty"`
}

// AlternateId is t:AlternateIdType (a source id in the request; its
// element is in the types namespace).
type AlternateId struct {
	Format    string `xml:"Format,attr"`
	Id        string `xml:"Id,attr"`
	Mailbox   string `xml:"Mailbox,attr"`
	IsArchive bool   `xml:"IsArchive,attr,omitempty"`
}

// ConvertIdResponse is m:ConvertIdResponseType.
type ConvertIdResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ConvertIdResponse"`
	ResponseMessages struct {
		Messages []ConvertIdResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ConvertIdResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// ConvertIdResponseMessage is m:ConvertIdResponseMessageType; AlternateId
// is absent on errors.
type ConvertIdResponseMessage struct {
	ResponseMessage
	AlternateId *ConvertedId `xml:"http://schemas.microsoft.com/exchange/services/2006/messages AlternateId,omitempty"`
}

// ConvertedId is the m:AlternateId of a response. Its schema type is
// abstract, so Exchange names the concrete one with xsi:type, which needs
// the t prefix declared on the element.
type ConvertedId struct {
	AlternateId
}

// MarshalXML writes xsi:type="t:AlternateIdType" with its declarations.
func (c ConvertedId) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Attr = append(start.Attr,
		xml.Attr{Name: xml.Name{Local: "xmlns:xsi"}, Value: "http://www.w3.org/2001/XMLSchema-instance"},
		xml.Attr{Name: xml.Name{Local: "xmlns:t"}, Value: NSTypes},
		xml.Attr{Name: xml.Name{Local: "xsi:type"}, Value: "t:AlternateIdType"},
		xml.Attr{Name: xml.Name{Local: "Format"}, Value: c.Format},
		xml.Attr{Name: xml.Name{Local: "Id"}, Value: c.Id},
		xml.Attr{Name: xml.Name{Local: "Mailbox"}, Value: c.Mailbox})
	if c.IsArchive {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "IsArchive"}, Value: "true"})
	}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}
