package ewswire

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Envelope is one decoded SOAP envelope.
type Envelope struct {
	// SOAP12 is true for a SOAP 1.2 envelope.
	SOAP12 bool
	Header Header
	// BodyName is the namespace and local name of the body element.
	BodyName xml.Name
	// Body is the decoded body element: the value the BodyPicker returned,
	// a *Fault, or a *RawXML when the picker returned nil.
	Body any
}

// Fault returns the body as a fault, or nil.
func (e *Envelope) Fault() *Fault {
	f, _ := e.Body.(*Fault)
	return f
}

// BodyPicker chooses the value (a pointer) to decode the body element into;
// nil keeps it as *RawXML.
type BodyPicker func(name xml.Name) any

// Expect decodes the body into v whatever its name (a mismatching element
// name is reported by the decoder through v's XMLName).
func Expect(v any) BodyPicker { return func(xml.Name) any { return v } }

// ReadError means reading the underlying stream failed (a network error or
// a cancelled context), as opposed to the XML being invalid.
type ReadError struct{ Err error }

// Error implements error.
func (e *ReadError) Error() string { return "ewswire: read: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ReadError) Unwrap() error { return e.Err }

// PositionError is an XML problem of a decoded envelope with the line and
// column (1-based, in characters) where the decoder stopped, as a server
// reports them in ErrorSchemaValidation.
type PositionError struct {
	Line, Column int
	Err          error
}

// Error implements error.
func (e *PositionError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *PositionError) Unwrap() error { return e.Err }

// DecodeEnvelope reads one SOAP envelope from r within the limits. XML
// problems are *PositionError; stream failures *ReadError.
func DecodeEnvelope(r io.Reader, lim Limits, pick BodyPicker) (*Envelope, error) {
	dec, br := newDecoder(r, lim)
	env, err := readEnvelope(dec, pick, nil)
	if err != nil {
		err = classify(err, br)
		if _, read := err.(*ReadError); !read {
			line, col := br.dec.InputPos()
			err = &PositionError{Line: line, Column: col, Err: err}
		}
		return nil, err
	}
	return env, nil
}

// classify separates stream read failures from XML problems.
func classify(err error, br *budgetReader) error {
	if br != nil && br.readErr != nil && errors.Is(err, br.readErr) {
		return &ReadError{Err: br.readErr}
	}
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTooDeep) {
		return err
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("ewswire: truncated envelope: %w", io.ErrUnexpectedEOF)
	}
	if strings.HasPrefix(err.Error(), "ewswire:") {
		return err
	}
	return fmt.Errorf("ewswire: %w", err)
}

// nextStart skips the prolog (declarations, comments, whitespace) and
// returns the next start element. io.EOF means a clean end of input.
func nextStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, errors.New("ewswire: text outside the envelope")
			}
		case xml.EndElement:
			return xml.StartElement{}, errors.New("ewswire: unexpected end element")
		}
	}
}

func readEnvelope(dec *xml.Decoder, pick BodyPicker, start *xml.StartElement) (*Envelope, error) {
	if start == nil {
		s, err := nextStart(dec)
		if err != nil {
			return nil, err
		}
		start = &s
	}
	if start.Name.Local != "Envelope" || start.Name.Space != NSSOAP11 && start.Name.Space != NSSOAP12 {
		return nil, fmt.Errorf("ewswire: not a SOAP envelope: <%s> in namespace %q", start.Name.Local, start.Name.Space)
	}
	soap := start.Name.Space
	env := &Envelope{SOAP12: soap == NSSOAP12}
	sawHeader, sawBody := false, false
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != soap {
				return nil, fmt.Errorf("ewswire: unexpected <%s> (namespace %q) in the envelope", t.Name.Local, t.Name.Space)
			}
			switch {
			case t.Name.Local == "Header" && !sawHeader && !sawBody:
				sawHeader = true
				if err := readHeader(dec, &env.Header); err != nil {
					return nil, err
				}
			case t.Name.Local == "Body" && !sawBody:
				sawBody = true
				if err := readBody(dec, env, soap, pick); err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("ewswire: unexpected or repeated <%s> in the envelope", t.Name.Local)
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errors.New("ewswire: text directly inside the envelope")
			}
		case xml.EndElement:
			if !sawBody {
				return nil, errors.New("ewswire: envelope has no Body")
			}
			return env, nil
		}
	}
}

const maxUnknownHeaders = 16

func readHeader(dec *xml.Decoder, h *Header) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			target, dup := h.decodeTarget(t.Name)
			if dup != nil {
				return fmt.Errorf("ewswire: duplicate %s header", t.Name.Local)
			}
			if target == nil {
				if len(h.Unknown) < maxUnknownHeaders {
					h.Unknown = append(h.Unknown, t.Name)
				}
				if err := dec.Skip(); err != nil {
					return err
				}
				continue
			}
			if err := dec.DecodeElement(target, &t); err != nil {
				return fmt.Errorf("ewswire: header %s: %w", t.Name.Local, err)
			}
		case xml.EndElement:
			return nil
		}
	}
}

func readBody(dec *xml.Decoder, env *Envelope, soap string, pick BodyPicker) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if env.Body != nil {
				return fmt.Errorf("ewswire: Body holds more than one element (second: <%s>)", t.Name.Local)
			}
			env.BodyName = t.Name
			var target any
			if t.Name.Space == soap && t.Name.Local == "Fault" {
				target = &Fault{SOAP12: soap == NSSOAP12}
			} else if pick != nil {
				target = pick(t.Name)
			}
			if target == nil {
				target = &RawXML{}
			}
			if err := dec.DecodeElement(target, &t); err != nil {
				return fmt.Errorf("ewswire: body <%s>: %w", t.Name.Local, err)
			}
			env.Body = target
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return errors.New("ewswire: text directly inside the Body")
			}
		case xml.EndElement:
			if env.Body == nil {
				return errors.New("ewswire: empty Body")
			}
			return nil
		}
	}
}

const xmlDecl = `<?xml version="1.0" encoding="utf-8"?>`

// envelopeForm is the literal framing of an envelope around the encoded
// header and body.
type envelopeForm struct {
	start, headerStart, headerEnd, bodyStart, end string
}

var (
	// prefixedEnvelope is the form of every normal response.
	prefixedEnvelope = envelopeForm{
		start:       xmlDecl + `<s:Envelope xmlns:s="` + NSSOAP11 + `">`,
		headerStart: "<s:Header>", headerEnd: "</s:Header>",
		bodyStart: "<s:Body>", end: "</s:Body></s:Envelope>",
	}
	// streamedEnvelope is how Exchange 2013+ writes each message of a
	// GetStreamingEvents response: a default-namespace Envelope with
	// soap11-prefixed Header and Body and no XML declaration. Clients
	// (ews-javascript-api, the Managed API's descendants) cut the chunked
	// body at the literal "<Envelope" and "</Envelope>".
	streamedEnvelope = envelopeForm{
		start:       `<Envelope xmlns="` + NSSOAP11 + `">`,
		headerStart: `<soap11:Header xmlns:soap11="` + NSSOAP11 + `">`, headerEnd: "</soap11:Header>",
		bodyStart: `<soap11:Body xmlns:soap11="` + NSSOAP11 + `">`, end: "</soap11:Body></Envelope>",
	}
)

// EncodeEnvelope writes a SOAP 1.1 envelope with the headers (nil or empty:
// no Header element) and body (a wire struct with an XMLName).
func EncodeEnvelope(w io.Writer, h *Header, body any) error {
	return encodeEnvelope(w, prefixedEnvelope, h, body)
}

func encodeEnvelope(w io.Writer, form envelopeForm, h *Header, body any) error {
	if _, err := io.WriteString(w, form.start); err != nil {
		return err
	}
	out := getCompactWriter(w)
	defer putCompactWriter(out)
	enc := xml.NewEncoder(out.bw) // takes out.bw as its buffer (see compactEncoderOut)
	if !h.IsEmpty() {
		if _, err := io.WriteString(w, form.headerStart); err != nil {
			return err
		}
		if err := h.encode(enc); err != nil {
			return fmt.Errorf("ewswire: encode header: %w", err)
		}
		if err := enc.Flush(); err != nil {
			return err
		}
		if _, err := io.WriteString(w, form.headerEnd); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, form.bodyStart); err != nil {
		return err
	}
	if err := enc.Encode(body); err != nil {
		return fmt.Errorf("ewswire: encode body: %w", err)
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, form.end)
	return err
}

// marshalBuffers recycle Marshal's growing buffer: the result is one copy
// of the exact size instead of a buffer regrown several times per request.
var marshalBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Marshal returns EncodeEnvelope's output as bytes. The hot requests write
// themselves (fastencode.go), the others go through encoding/xml.
func Marshal(h *Header, body any) ([]byte, error) {
	if out, ok := marshalFast(h, body); ok {
		return out, nil
	}
	buf := marshalBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			marshalBuffers.Put(buf)
		}
	}()
	buf.Reset()
	if err := EncodeEnvelope(buf, h, body); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}
