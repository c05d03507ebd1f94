package ewswire

import (
	"encoding/xml"
	"io"
	"strings"

	"github.com/calsync/calsync/ews"
)

// Fault is a SOAP fault (SOAP 1.1 faultcode/faultstring/faultactor/detail;
// SOAP 1.2 Code/Reason/Role/Detail are read too) with EWS's detail:
// e:ResponseCode, e:Message and t:MessageXml.
type Fault struct {
	SOAP12 bool
	// Code is the local part of the fault code QName, CodeSpace its
	// namespace when declared on the code element ("" otherwise).
	Code      string
	CodeSpace string
	String    string
	Actor     string
	Detail    FaultDetail
}

// FaultDetail is the EWS content of a fault's detail element.
type FaultDetail struct {
	ResponseCode string
	Message      string
	MessageXml   MessageXml
}

// UnmarshalXML reads SOAP 1.1 and 1.2 faults, matching children by local
// name (SOAP 1.1 children are unqualified).
func (f *Fault) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "faultcode":
				var s string
				if err := d.DecodeElement(&s, &t); err != nil {
					return err
				}
				f.setCode(s, t.Attr)
			case "Code": // SOAP 1.2: Code/Value
				var c struct {
					Value string `xml:"Value"`
				}
				if err := d.DecodeElement(&c, &t); err != nil {
					return err
				}
				f.setCode(c.Value, nil)
			case "faultstring":
				if err := d.DecodeElement(&f.String, &t); err != nil {
					return err
				}
			case "Reason": // SOAP 1.2: Reason/Text
				var r struct {
					Text string `xml:"Text"`
				}
				if err := d.DecodeElement(&r, &t); err != nil {
					return err
				}
				f.String = r.Text
			case "faultactor", "Role":
				if err := d.DecodeElement(&f.Actor, &t); err != nil {
					return err
				}
			case "detail", "Detail":
				if err := f.Detail.decode(d); err != nil {
					return err
				}
			default:
				if err := d.Skip(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			f.String = strings.TrimSpace(f.String)
			return nil
		}
	}
}

func (f *Fault) setCode(qname string, attrs []xml.Attr) {
	qname = strings.TrimSpace(qname)
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		f.Code = qname
		return
	}
	f.Code = local
	for _, a := range attrs {
		if a.Name.Space == "xmlns" && a.Name.Local == prefix {
			f.CodeSpace = a.Value
		}
	}
}

func (fd *FaultDetail) decode(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "ResponseCode":
				if err := d.DecodeElement(&fd.ResponseCode, &t); err != nil {
					return err
				}
				fd.ResponseCode = strings.TrimSpace(fd.ResponseCode)
			case "Message":
				if err := d.DecodeElement(&fd.Message, &t); err != nil {
					return err
				}
			case "MessageXml":
				if err := d.DecodeElement(&fd.MessageXml, &t); err != nil {
					return err
				}
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

// ToError converts the fault to the ews error type. The EWS code is the
// detail's ResponseCode, or the fault code when it names an EWS code.
func (f *Fault) ToError(statusCode int) *ews.SOAPFault {
	code := ews.ResponseCode(f.Detail.ResponseCode)
	if code == "" && (strings.HasPrefix(f.Code, "Error") || ews.ResponseCode(f.Code).Known()) {
		code = ews.ResponseCode(f.Code)
	}
	values := map[string]string(f.Detail.MessageXml)
	return &ews.SOAPFault{
		FaultCode:      f.Code,
		FaultCodeSpace: f.CodeSpace,
		FaultString:    f.String,
		FaultActor:     f.Actor,
		Code:           code,
		Message:        f.Detail.Message,
		MessageXml:     values,
		BackOff:        ews.BackOffOf(values),
		StatusCode:     statusCode,
	}
}

// NewFault builds the fault Exchange sends for a request-level error: the
// code as a types-namespace QName, the message as faultstring and detail
// Message, and values (BackOffMilliseconds, LineNumber, …) in MessageXml.
func NewFault(code ews.ResponseCode, message string, values map[string]string) *Fault {
	return &Fault{Code: string(code), CodeSpace: NSTypes, String: message,
		Detail: FaultDetail{ResponseCode: string(code), Message: message, MessageXml: values}}
}

// FaultFromError builds a fault from an error: *ews.SOAPFault and
// *ews.ResponseError keep their code, text and values; any other error
// becomes ErrorInternalServerError with a generic text, so internals never
// reach the peer.
func FaultFromError(err error) *Fault {
	switch e := err.(type) {
	case *ews.SOAPFault:
		f := NewFault(e.Code, e.FaultString, e.MessageXml)
		if e.Message != "" {
			f.Detail.Message = e.Message
		}
		return f
	case *ews.ResponseError:
		return NewFault(e.Code, e.MessageText, e.MessageXml)
	}
	return NewFault(ews.ErrorInternalServerError, "An internal server error occurred. The operation failed.", nil)
}

// EncodeFault writes a SOAP 1.1 envelope holding the fault. Servers send it
// with HTTP status 500.
func EncodeFault(w io.Writer, f *Fault) error {
	var b strings.Builder
	b.WriteString(prefixedEnvelope.start + prefixedEnvelope.bodyStart + "<s:Fault>")
	if f.CodeSpace != "" {
		b.WriteString(`<faultcode xmlns:a="`)
		xmlEscape(&b, f.CodeSpace)
		b.WriteString(`">a:`)
	} else {
		b.WriteString(`<faultcode>s:`)
	}
	xmlEscape(&b, f.Code)
	b.WriteString(`</faultcode><faultstring xml:lang="en-US">`)
	xmlEscape(&b, f.String)
	b.WriteString(`</faultstring>`)
	if f.Actor != "" {
		b.WriteString("<faultactor>")
		xmlEscape(&b, f.Actor)
		b.WriteString("</faultactor>")
	}
	d := f.Detail
	if d.ResponseCode != "" || d.Message != "" || len(d.MessageXml) > 0 {
		b.WriteString("<detail>")
		if d.ResponseCode != "" {
			b.WriteString(`<e:ResponseCode xmlns:e="` + NSErrors + `">`)
			xmlEscape(&b, d.ResponseCode)
			b.WriteString(`</e:ResponseCode>`)
		}
		if d.Message != "" {
			b.WriteString(`<e:Message xmlns:e="` + NSErrors + `">`)
			xmlEscape(&b, d.Message)
			b.WriteString(`</e:Message>`)
		}
		if len(d.MessageXml) > 0 {
			b.WriteString(messageXmlOnly(d.MessageXml))
		}
		b.WriteString("</detail>")
	}
	b.WriteString("</s:Fault>" + prefixedEnvelope.end)
	_, err := io.WriteString(w, b.String())
	return err
}

// messageXmlOnly renders t:MessageXml with its values.
func messageXmlOnly(m MessageXml) string {
	var b strings.Builder
	enc := xml.NewEncoder(&b)
	_ = m.MarshalXML(enc, xml.StartElement{Name: xml.Name{Space: NSTypes, Local: "MessageXml"}})
	_ = enc.Flush()
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
