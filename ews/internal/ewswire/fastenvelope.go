package ewswire

import (
	"bytes"
	"encoding/xml"
	"io"
	"sync"

	"github.com/calsync/calsync/ews"
)

// bodyBuffers recycle the response bodies DecodeFindItem reads: the token
// decoder copies every string it keeps, so a body is free once decoded.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// DecodeFindItem reads a FindItem response from r within the limits into
// resp. A CalendarView answer goes through the token decoder
// (DecodeFindItemCalendar) and its items come out of
// resp's RootFolder.Items.CalendarItems() already converted; any other
// answer (faults, errors, recurrence patterns, unusual XML) is decoded by
// DecodeEnvelope from the same bytes, with its results and errors.
func DecodeFindItem(r io.Reader, lim Limits, resp *FindItemResponse) (*Envelope, error) {
	lim = lim.withDefaults()
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 8<<20 { // a rare huge body is not kept
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	buf.Reset()
	// One byte past the limit lets DecodeEnvelope report ErrTooLarge.
	if _, err := buf.ReadFrom(io.LimitReader(r, lim.MaxBytes+1)); err != nil {
		return nil, &ReadError{Err: err}
	}
	data := buf.Bytes()
	if fast, err := DecodeFindItemCalendar(data, lim); err == nil {
		return fast.fill(resp), nil
	}
	return DecodeEnvelope(bytes.NewReader(data), lim, Expect(resp))
}

// fill turns the fast decoder's result into the envelope and response
// DecodeEnvelope would have produced.
func (c *CalendarItemsResponse) fill(resp *FindItemResponse) *Envelope {
	name := xml.Name{Space: NSMessages, Local: "FindItemResponse"}
	*resp = FindItemResponse{XMLName: name}
	m := FindItemResponseMessage{ResponseMessage: c.Message}
	if c.RootFolder != nil {
		root := *c.RootFolder
		root.Items = Items{converted: c.Items}
		if root.Items.converted == nil {
			root.Items.converted = []ews.CalendarItem{}
		}
		m.RootFolder = &root
	}
	resp.ResponseMessages.Messages = []FindItemResponseMessage{m}
	return &Envelope{SOAP12: c.SOAP12, Header: Header{ServerVersionInfo: c.ServerVersionInfo}, BodyName: name, Body: resp}
}
