package ewswire

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/calsync/calsync/ews"
)

// ResponseMessage is m:ResponseMessageType, embedded in every
// XxxResponseMessage: ResponseClass, MessageText, ResponseCode,
// DescriptiveLinkKey, MessageXml, in schema order.
type ResponseMessage struct {
	ResponseClass      string     `xml:"ResponseClass,attr"`
	MessageText        string     `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MessageText,omitempty"`
	ResponseCode       string     `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseCode,omitempty"`
	DescriptiveLinkKey *int       `xml:"http://schemas.microsoft.com/exchange/services/2006/messages DescriptiveLinkKey,omitempty"`
	MessageXml         MessageXml `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MessageXml,omitempty"`
}

// Success is a response message with ResponseClass Success and NoError.
func Success() ResponseMessage {
	return ResponseMessage{ResponseClass: string(ews.ClassSuccess), ResponseCode: string(ews.NoError)}
}

// ErrorResponseMessage builds a response message from an error: an
// *ews.ResponseError keeps class, code, text and values; any other error
// becomes ErrorInternalServerError with a generic text (no internals leak).
func ErrorResponseMessage(err error) ResponseMessage {
	var re *ews.ResponseError
	if errors.As(err, &re) {
		class := re.Class
		if !class.Valid() || class == ews.ClassSuccess {
			class = ews.ClassError
		}
		m := ResponseMessage{ResponseClass: string(class), ResponseCode: string(re.Code), MessageText: re.MessageText, MessageXml: re.MessageXml}
		if re.DescriptiveLinkKey != 0 {
			k := re.DescriptiveLinkKey
			m.DescriptiveLinkKey = &k
		}
		return m
	}
	return ResponseMessage{ResponseClass: string(ews.ClassError), ResponseCode: string(ews.ErrorInternalServerError),
		MessageText: "An internal server error occurred. The operation failed."}
}

// Err returns nil for Success (or a Warning with NoError) and an
// *ews.ResponseError otherwise. Index is the batch position (-1 if none).
func (m *ResponseMessage) Err(op string, index int) error {
	class := ews.ResponseClass(strings.TrimSpace(m.ResponseClass))
	code := ews.ResponseCode(strings.TrimSpace(m.ResponseCode))
	if class == ews.ClassSuccess || class == "" && (code == "" || code == ews.NoError) {
		return nil
	}
	if class == ews.ClassWarning && (code == "" || code == ews.NoError) {
		return nil
	}
	if !class.Valid() {
		return &ews.ProtocolError{Op: op, Err: fmt.Errorf("unknown ResponseClass %q", m.ResponseClass)}
	}
	if code == "" {
		code = ews.ErrorInternalServerError
	}
	return &ews.ResponseError{Op: op, Index: index, Class: class, Code: code, MessageText: m.MessageText,
		DescriptiveLinkKey: intOf(m.DescriptiveLinkKey), MessageXml: m.MessageXml, BackOff: ews.BackOffOf(m.MessageXml)}
}

// ItemId is t:ItemIdType.
type ItemId struct {
	Id        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr,omitempty"`
}

// ToEWS converts the id.
func (i *ItemId) ToEWS() ews.ItemId {
	if i == nil {
		return ews.ItemId{}
	}
	return ews.ItemId{Id: i.Id, ChangeKey: i.ChangeKey}
}

// ItemIdFrom converts an ews id (nil for the zero id).
func ItemIdFrom(id ews.ItemId) *ItemId {
	if id.IsZero() {
		return nil
	}
	return &ItemId{Id: id.Id, ChangeKey: id.ChangeKey}
}

// FolderId is t:FolderIdType.
type FolderId struct {
	Id        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr,omitempty"`
}

// ToEWS converts the id.
func (f *FolderId) ToEWS() ews.FolderId {
	if f == nil {
		return ews.FolderId{}
	}
	return ews.FolderId{Id: f.Id, ChangeKey: f.ChangeKey}
}

// FolderIdFrom converts an ews id (nil for the zero id).
func FolderIdFrom(id ews.FolderId) *FolderId {
	if id.IsZero() {
		return nil
	}
	return &FolderId{Id: id.Id, ChangeKey: id.ChangeKey}
}

// EmailAddress is t:EmailAddressType.
type EmailAddress struct {
	Name         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name,omitempty"`
	EmailAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EmailAddress,omitempty"`
	RoutingType  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types RoutingType,omitempty"`
	MailboxType  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types MailboxType,omitempty"`
}

// ToEWS converts the address.
func (e *EmailAddress) ToEWS() ews.Mailbox {
	return ews.Mailbox{Name: e.Name, EmailAddress: e.EmailAddress, RoutingType: e.RoutingType, MailboxType: e.MailboxType}
}

// EmailAddressFrom converts an ews mailbox.
func EmailAddressFrom(m ews.Mailbox) EmailAddress {
	return EmailAddress{Name: m.Name, EmailAddress: m.EmailAddress, RoutingType: m.RoutingType, MailboxType: m.MailboxType}
}

// FolderRef is one element of t:NonEmptyArrayOfBaseFolderIdsType: a
// t:FolderId or a t:DistinguishedFolderId (with optional t:Mailbox).
type FolderRef struct {
	Distinguished bool
	Id            string
	ChangeKey     string
	Mailbox       string
}

// FolderIds is t:NonEmptyArrayOfBaseFolderIdsType, order preserved.
type FolderIds []FolderRef

type wireDistinguishedFolderId struct {
	Id        string        `xml:"Id,attr"`
	ChangeKey string        `xml:"ChangeKey,attr,omitempty"`
	Mailbox   *EmailAddress `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox,omitempty"`
}

// MarshalXML writes the folder ids in order.
func (f FolderIds) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, r := range f {
		if r.Distinguished {
			w := wireDistinguishedFolderId{Id: r.Id, ChangeKey: r.ChangeKey}
			if r.Mailbox != "" {
				w.Mailbox = &EmailAddress{EmailAddress: r.Mailbox}
			}
			if err := e.EncodeElement(w, xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "DistinguishedFolderId"}}); err != nil {
				return err
			}
			continue
		}
		if err := e.EncodeElement(FolderId{Id: r.Id, ChangeKey: r.ChangeKey}, xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "FolderId"}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// UnmarshalXML reads folder ids in order; unknown children are skipped.
func (f *FolderIds) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "FolderId":
				var w FolderId
				if err := d.DecodeElement(&w, &t); err != nil {
					return err
				}
				*f = append(*f, FolderRef{Id: w.Id, ChangeKey: w.ChangeKey})
			case "DistinguishedFolderId":
				var w wireDistinguishedFolderId
				if err := d.DecodeElement(&w, &t); err != nil {
					return err
				}
				r := FolderRef{Distinguished: true, Id: w.Id, ChangeKey: w.ChangeKey}
				if w.Mailbox != nil {
					r.Mailbox = w.Mailbox.EmailAddress
				}
				*f = append(*f, r)
			default:
				if err := d.Skip(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			return nil
		}
	}
}

// FolderRefFrom converts an ews folder reference after validating it.
func FolderRefFrom(f ews.FolderRef) (FolderRef, error) {
	if err := f.Validate(); err != nil {
		return FolderRef{}, err
	}
	if f.Folder != nil {
		return FolderRef{Id: f.Folder.Id, ChangeKey: f.Folder.ChangeKey}, nil
	}
	return FolderRef{Distinguished: true, Id: string(f.Distinguished.Id), ChangeKey: f.Distinguished.ChangeKey, Mailbox: f.Distinguished.Mailbox}, nil
}

// ToEWS converts the wire reference.
func (r FolderRef) ToEWS() ews.FolderRef {
	if r.Distinguished {
		return ews.FolderRef{Distinguished: &ews.DistinguishedFolderId{Id: ews.DistinguishedFolderName(r.Id), ChangeKey: r.ChangeKey, Mailbox: r.Mailbox}}
	}
	return ews.FolderRef{Folder: &ews.FolderId{Id: r.Id, ChangeKey: r.ChangeKey}}
}

// TargetFolder is t:TargetFolderIdType (one folder reference), used by
// SavedItemFolderId and SyncFolderId.
type TargetFolder struct {
	Ref FolderRef
}

// MarshalXML writes the single folder reference.
func (t TargetFolder) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return FolderIds{t.Ref}.MarshalXML(e, start)
}

// UnmarshalXML reads exactly one folder reference.
func (t *TargetFolder) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var ids FolderIds
	if err := ids.UnmarshalXML(d, start); err != nil {
		return err
	}
	if len(ids) != 1 {
		return fmt.Errorf("ewswire: %s must hold exactly one folder id, has %d", start.Name.Local, len(ids))
	}
	t.Ref = ids[0]
	return nil
}

// ItemRef is one element of t:NonEmptyArrayOfBaseItemIdsType: t:ItemId,
// t:OccurrenceItemId or t:RecurringMasterItemId.
type ItemRef struct {
	// Kind is the element name: "ItemId", "OccurrenceItemId" or
	// "RecurringMasterItemId".
	Kind              string
	Id                string
	ChangeKey         string
	RecurringMasterId string
	InstanceIndex     int
	OccurrenceId      string
}

// ItemIds is t:NonEmptyArrayOfBaseItemIdsType with the input order kept, so
// that responses (one per input, in order) line up.
type ItemIds []ItemRef

type wireOccurrenceItemId struct {
	RecurringMasterId string `xml:"RecurringMasterId,attr"`
	ChangeKey         string `xml:"ChangeKey,attr,omitempty"`
	InstanceIndex     int    `xml:"InstanceIndex,attr"`
}

type wireRecurringMasterItemId struct {
	OccurrenceId string `xml:"OccurrenceId,attr"`
	ChangeKey    string `xml:"ChangeKey,attr,omitempty"`
}

func (r ItemRef) encode(e *xml.Encoder) error {
	name := xml.StartElement{Name: xml.Name{Space: NSTypes, Local: r.Kind}}
	switch r.Kind {
	case "ItemId":
		return e.EncodeElement(ItemId{Id: r.Id, ChangeKey: r.ChangeKey}, name)
	case "OccurrenceItemId":
		return e.EncodeElement(wireOccurrenceItemId{RecurringMasterId: r.RecurringMasterId, ChangeKey: r.ChangeKey, InstanceIndex: r.InstanceIndex}, name)
	case "RecurringMasterItemId":
		return e.EncodeElement(wireRecurringMasterItemId{OccurrenceId: r.OccurrenceId, ChangeKey: r.ChangeKey}, name)
	}
	return fmt.Errorf("ewswire: unknown item id kind %q", r.Kind)
}

// decodeItemRef reads one id element; ok is false for other elements.
func decodeItemRef(d *xml.Decoder, t xml.StartElement) (ItemRef, bool, error) {
	switch t.Name.Local {
	case "ItemId":
		var w ItemId
		err := d.DecodeElement(&w, &t)
		return ItemRef{Kind: "ItemId", Id: w.Id, ChangeKey: w.ChangeKey}, true, err
	case "OccurrenceItemId":
		var w wireOccurrenceItemId
		err := d.DecodeElement(&w, &t)
		return ItemRef{Kind: "OccurrenceItemId", RecurringMasterId: w.RecurringMasterId, ChangeKey: w.ChangeKey, InstanceIndex: w.InstanceIndex}, true, err
	case "RecurringMasterItemId":
		var w wireRecurringMasterItemId
		err := d.DecodeElement(&w, &t)
		return ItemRef{Kind: "RecurringMasterItemId", OccurrenceId: w.OccurrenceId, ChangeKey: w.ChangeKey}, true, err
	}
	return ItemRef{}, false, nil
}

// MarshalXML writes the ids in order.
func (ids ItemIds) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, r := range ids {
		if err := r.encode(e); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// UnmarshalXML reads the ids in order; unknown children are skipped.
func (ids *ItemIds) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			r, ok, err := decodeItemRef(d, t)
			if err != nil {
				return err
			}
			if !ok {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			*ids = append(*ids, r)
		case xml.EndElement:
			return nil
		}
	}
}

// ItemRefFrom converts an ews item reference after validating it.
func ItemRefFrom(r ews.ItemRef) (ItemRef, error) {
	if err := r.Validate(); err != nil {
		return ItemRef{}, err
	}
	switch {
	case r.Item != nil:
		return ItemRef{Kind: "ItemId", Id: r.Item.Id, ChangeKey: r.Item.ChangeKey}, nil
	case r.Occurrence != nil:
		return ItemRef{Kind: "OccurrenceItemId", RecurringMasterId: r.Occurrence.RecurringMasterId, ChangeKey: r.Occurrence.ChangeKey, InstanceIndex: r.Occurrence.InstanceIndex}, nil
	default:
		return ItemRef{Kind: "RecurringMasterItemId", OccurrenceId: r.Master.OccurrenceId, ChangeKey: r.Master.ChangeKey}, nil
	}
}

// ToEWS converts the wire reference, checking it.
func (r ItemRef) ToEWS() (ews.ItemRef, error) {
	var out ews.ItemRef
	switch r.Kind {
	case "ItemId":
		out.Item = &ews.ItemId{Id: r.Id, ChangeKey: r.ChangeKey}
	case "OccurrenceItemId":
		out.Occurrence = &ews.OccurrenceItemId{RecurringMasterId: r.RecurringMasterId, ChangeKey: r.ChangeKey, InstanceIndex: r.InstanceIndex}
	case "RecurringMasterItemId":
		out.Master = &ews.RecurringMasterItemId{OccurrenceId: r.OccurrenceId, ChangeKey: r.ChangeKey}
	default:
		return out, fmt.Errorf("ewswire: unknown item id kind %q", r.Kind)
	}
	return out, out.Validate()
}

// ItemShape is t:ItemResponseShapeType.
type ItemShape struct {
	BaseShape            string    `xml:"http://schemas.microsoft.com/exchange/services/2006/types BaseShape"`
	IncludeMimeContent   *bool     `xml:"http://schemas.microsoft.com/exchange/services/2006/types IncludeMimeContent,omitempty"`
	BodyType             string    `xml:"http://schemas.microsoft.com/exchange/services/2006/types BodyType,omitempty"`
	AdditionalProperties *PathList `xml:"http://schemas.microsoft.com/exchange/services/2006/types AdditionalProperties,omitempty"`
}

// FolderShape is t:FolderResponseShapeType.
type FolderShape struct {
	BaseShape            string    `xml:"http://schemas.microsoft.com/exchange/services/2006/types BaseShape"`
	AdditionalProperties *PathList `xml:"http://schemas.microsoft.com/exchange/services/2006/types AdditionalProperties,omitempty"`
}

// PathList is t:NonEmptyArrayOfPathsToElementType (FieldURI and
// ExtendedFieldURI entries).
type PathList struct {
	FieldURI         []FieldURI         `xml:"http://schemas.microsoft.com/exchange/services/2006/types FieldURI"`
	ExtendedFieldURI []ExtendedFieldURI `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedFieldURI"`
}

// FieldURI is t:PathToUnindexedFieldType ("calendar:Start").
type FieldURI struct {
	FieldURI string `xml:"FieldURI,attr"`
}

// ExtendedFieldURI is t:PathToExtendedFieldType: a MAPI property by tag,
// or a named property by property set and id or name.
type ExtendedFieldURI struct {
	DistinguishedPropertySetId string `xml:"DistinguishedPropertySetId,attr,omitempty"`
	PropertySetId              string `xml:"PropertySetId,attr,omitempty"`
	PropertyTag                string `xml:"PropertyTag,attr,omitempty"`
	PropertyName               string `xml:"PropertyName,attr,omitempty"`
	PropertyId                 string `xml:"PropertyId,attr,omitempty"`
	PropertyType               string `xml:"PropertyType,attr"`
}

// ExtendedProperty is t:ExtendedPropertyType: the path and either Value
// or, for the …Array types, Values (the schema requires one of them, so an
// empty single value is written as an empty t:Value).
type ExtendedProperty struct {
	ExtendedFieldURI ExtendedFieldURI `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedFieldURI"`
	Value            *string          `xml:"http://schemas.microsoft.com/exchange/services/2006/types Value"`
	Values           *PropertyValues  `xml:"http://schemas.microsoft.com/exchange/services/2006/types Values,omitempty"`
}

// PropertyValues is t:NonEmptyArrayOfPropertyValuesType.
type PropertyValues struct {
	Value []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Value"`
}

// ToEWS converts the path.
func (f ExtendedFieldURI) ToEWS() ews.ExtendedFieldURI {
	return ews.ExtendedFieldURI{DistinguishedPropertySetId: f.DistinguishedPropertySetId, PropertySetId: f.PropertySetId,
		PropertyTag: f.PropertyTag, PropertyName: f.PropertyName, PropertyId: f.PropertyId, PropertyType: f.PropertyType}
}

// ExtendedFieldURIFrom converts an ews path.
func ExtendedFieldURIFrom(f ews.ExtendedFieldURI) ExtendedFieldURI {
	return ExtendedFieldURI{DistinguishedPropertySetId: f.DistinguishedPropertySetId, PropertySetId: f.PropertySetId,
		PropertyTag: f.PropertyTag, PropertyName: f.PropertyName, PropertyId: f.PropertyId, PropertyType: f.PropertyType}
}

// ToEWS converts the property.
func (p ExtendedProperty) ToEWS() ews.ExtendedProperty {
	out := ews.ExtendedProperty{Field: p.ExtendedFieldURI.ToEWS(), Value: strOf(p.Value)}
	if p.Values != nil {
		out.Values = append([]string{}, p.Values.Value...)
	}
	return out
}

// ExtendedPropertyFrom converts an ews property: Values when it has any
// or its type is an …Array type, else Value.
func ExtendedPropertyFrom(p ews.ExtendedProperty) ExtendedProperty {
	w := ExtendedProperty{ExtendedFieldURI: ExtendedFieldURIFrom(p.Field)}
	if len(p.Values) > 0 || p.Field.Multi() {
		w.Values = &PropertyValues{Value: append([]string(nil), p.Values...)}
		return w
	}
	w.Value = strPtr(p.Value)
	return w
}

func extendedToEWS(list []ExtendedProperty) []ews.ExtendedProperty {
	if len(list) == 0 {
		return nil
	}
	out := make([]ews.ExtendedProperty, len(list))
	for i, p := range list {
		out[i] = p.ToEWS()
	}
	return out
}

func extendedFrom(list []ews.ExtendedProperty) []ExtendedProperty {
	if len(list) == 0 {
		return nil
	}
	out := make([]ExtendedProperty, len(list))
	for i, p := range list {
		out[i] = ExtendedPropertyFrom(p)
	}
	return out
}

// Paths builds a PathList from FieldURI strings (nil when empty).
func Paths(fieldURIs ...string) *PathList {
	if len(fieldURIs) == 0 {
		return nil
	}
	p := &PathList{FieldURI: make([]FieldURI, 0, len(fieldURIs))}
	for _, f := range fieldURIs {
		p.FieldURI = append(p.FieldURI, FieldURI{FieldURI: f})
	}
	return p
}
