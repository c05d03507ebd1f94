package ewswire

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
)

// DateTime is an xs:dateTime. It decodes values with "Z", with an offset or
// without any zone (read as UTC wall clock: Exchange sends availability times
// that way) and encodes UTC with "Z".
type DateTime struct{ time.Time }

var dateTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
}

// ParseDateTime parses an xs:dateTime as Exchange sends it.
func ParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("ewswire: invalid dateTime %q", s)
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *DateTime) UnmarshalText(b []byte) error {
	t, err := ParseDateTime(string(b))
	if err != nil {
		return err
	}
	d.Time = t
	return nil
}

// MarshalText implements encoding.TextMarshaler (UTC, seconds precision
// unless sub-second digits are present).
func (d DateTime) MarshalText() ([]byte, error) {
	return []byte(d.UTC().Format(time.RFC3339Nano)), nil
}

// NewDateTime returns nil for the zero time, else a *DateTime.
func NewDateTime(t time.Time) *DateTime {
	if t.IsZero() {
		return nil
	}
	return &DateTime{t}
}

// Time returns the value or the zero time for nil.
func timeOf(d *DateTime) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}

// localDateTimeLayout is how a LocalDateTime is written.
const localDateTimeLayout = "2006-01-02T15:04:05"

// LocalDateTime is an xs:dateTime written without zone (GetUserAvailability
// TimeWindow and CalendarEvent times are wall clock in the request's zone).
type LocalDateTime struct{ time.Time }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *LocalDateTime) UnmarshalText(b []byte) error {
	t, err := ParseDateTime(string(b))
	if err != nil {
		return err
	}
	d.Time = t
	return nil
}

// MarshalText writes the wall clock without zone.
func (d LocalDateTime) MarshalText() ([]byte, error) {
	return []byte(d.Format(localDateTimeLayout)), nil
}

// ParseDate parses an xs:date with an optional zone suffix.
func ParseDate(s string) (ews.Date, error) {
	s = strings.TrimSpace(s)
	if len(s) < 10 {
		return ews.Date{}, fmt.Errorf("ewswire: invalid date %q", s)
	}
	t, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return ews.Date{}, fmt.Errorf("ewswire: invalid date %q", s)
	}
	off := s[10:]
	if off != "" && off != "Z" {
		if _, err := time.Parse("-07:00", off); err != nil {
			return ews.Date{}, fmt.Errorf("ewswire: invalid date zone in %q", s)
		}
	}
	return ews.Date{Year: t.Year(), Month: t.Month(), Day: t.Day(), Offset: off}, nil
}

// MessageXml is m:MessageXml / t:MessageXml: any content. t:Value elements
// are kept by their Name attribute, other elements by local name.
type MessageXml map[string]string

// UnmarshalXML implements xml.Unmarshaler.
func (m *MessageXml) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	if *m == nil {
		*m = MessageXml{}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var text struct {
				Text string `xml:",chardata"`
			}
			if err := d.DecodeElement(&text, &t); err != nil {
				return err
			}
			key := t.Name.Local
			if key == "Value" {
				for _, a := range t.Attr {
					if a.Name.Local == "Name" {
						key = a.Value
					}
				}
			}
			if len(*m) < 64 {
				(*m)[key] = strings.TrimSpace(text.Text)
			}
		case xml.EndElement:
			return nil
		}
	}
}

// schemaViolationKeys are written as elements, everything else as t:Value.
var schemaViolationKeys = []string{ews.ValueLineNumber, ews.ValueLinePosition, ews.ValueViolation}

// MarshalXML implements xml.Marshaler; children are in the types namespace.
func (m MessageXml) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	isElem := map[string]bool{}
	for _, k := range schemaViolationKeys {
		isElem[k] = true
		if v, ok := m[k]; ok {
			if err := e.EncodeElement(v, xml.StartElement{Name: xml.Name{Space: NSTypes, Local: k}}); err != nil {
				return err
			}
		}
	}
	for _, k := range ews.SortedValueNames(m) {
		if isElem[k] {
			continue
		}
		el := xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "Value"}, Attr: []xml.Attr{{Name: xml.Name{Local: "Name"}, Value: k}}}
		if err := e.EncodeElement(m[k], el); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// RawXML keeps an element that the codec does not model (an unknown
// property, a newer server's element). It is kept for inspection and never
// re-encoded, because its position in the schema sequence is unknown.
type RawXML struct {
	XMLName xml.Name
	Attrs   []xml.Attr
	Inner   []byte
}

// UnmarshalXML keeps the attributes and re-serialises the content
// (namespaces are preserved as default-namespace declarations; prefixes are
// not).
func (r *RawXML) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	r.XMLName = start.Name
	r.Attrs = append(r.Attrs[:0], start.Attr...)
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			attrs := t.Attr[:0:0]
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
					attrs = append(attrs, a)
				}
			}
			t.Attr = attrs
			tok = t
		case xml.EndElement:
			if depth == 0 {
				if err := enc.Flush(); err != nil {
					return err
				}
				r.Inner = buf.Bytes()
				return nil
			}
			depth--
		case xml.ProcInst, xml.Directive:
			continue
		}
		if err := enc.EncodeToken(xml.CopyToken(tok)); err != nil {
			return err
		}
	}
}

// MarshalXML writes nothing (see the type comment).
func (RawXML) MarshalXML(*xml.Encoder, xml.StartElement) error { return nil }

// Text returns the element's inner XML.
func (r RawXML) Text() string { return string(bytes.TrimSpace(r.Inner)) }

// boolPtr returns a pointer to b.
func boolPtr(b bool) *bool { return &b }

// boolOf returns *b or false.
func boolOf(b *bool) bool { return b != nil && *b }

// intOf returns *i or 0.
func intOf(i *int) int {
	if i == nil {
		return 0
	}
	return *i
}

// atoiAttr parses an optional integer attribute.
func atoiAttr(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.Atoi(strings.TrimSpace(s))
}
