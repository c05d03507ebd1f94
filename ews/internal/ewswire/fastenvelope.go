package ewswire

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/calsync/calsync/ews"
)

// bodyBuffers recycle the response bodies DecodeResponse reads for the
// token decoders, which copy every string they keep: a body is free once
// decoded.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// envelopeReaders recycle the read buffer encoding/xml needs for the
// answers it decodes (it takes a *bufio.Reader as it is).
var envelopeReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// DecodeResponse reads a response from r within the limits into out (a
// pointer to a response struct) and returns what DecodeEnvelope(r, lim,
// Expect(out)) would: the same envelope, values and errors. The shapes the
// token decoder knows — a CalendarView page (*FindItemResponse,
// DecodeFindItemCalendar), a Subscribe answer (*SubscribeResponse), the
// free/busy views of a GetUserAvailability answer
// (*GetUserAvailabilityResponse), a GetMailTips answer
// (*GetMailTipsResponse) and a SOAP Autodiscover GetUserSettings answer
// (*GetUserSettingsResponseMessage) — are read into a pooled buffer and
// decoded with it; any other answer (other
// operations, faults, errors, unusual XML) is decoded by DecodeEnvelope,
// from the bytes read so far and the rest of r.
//
// Like DecodeEnvelope, it stops reading at the end of the envelope: a
// server that keeps the body open after it does not hold the call.
func DecodeResponse(r io.Reader, lim Limits, out any) (*Envelope, error) {
	lim = lim.withDefaults()
	var fast func(data []byte) (*Envelope, error)
	switch resp := out.(type) {
	case *FindItemResponse:
		fast = func(data []byte) (*Envelope, error) {
			c, err := decodeFindItemCalendar(data, lim, resp.ItemBuffer)
			if err != nil {
				return nil, err
			}
			return c.fill(resp), nil
		}
	case *SubscribeResponse:
		fast = func(data []byte) (*Envelope, error) { return decodeSubscribeFast(data, lim, resp) }
	case *GetUserAvailabilityResponse:
		fast = func(data []byte) (*Envelope, error) { return decodeAvailabilityFast(data, lim, resp) }
	case *GetMailTipsResponse:
		fast = func(data []byte) (*Envelope, error) { return decodeMailTipsFast(data, lim, resp) }
	case *GetUserSettingsResponseMessage:
		fast = func(data []byte) (*Envelope, error) { return decodeUserSettingsFast(data, lim, resp) }
	default:
		br := envelopeReaders.Get().(*bufio.Reader)
		br.Reset(r)
		defer func() {
			br.Reset(nil)
			envelopeReaders.Put(br)
		}()
		return DecodeEnvelope(br, lim, Expect(out))
	}
	bp := bodyBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 8<<20 { // a rare huge body is not kept
			*bp = (*bp)[:0]
			bodyBuffers.Put(bp)
		}
	}()
	// One byte past the limit lets DecodeEnvelope report ErrTooLarge.
	lr := io.LimitReader(r, lim.MaxBytes+1)
	data, eof, err := readResponseBytes(lr, (*bp)[:0])
	*bp = data
	if err != nil {
		return nil, &ReadError{Err: err}
	}
	if env, err := fast(data); err == nil {
		return env, nil
	}
	if eof {
		return DecodeEnvelope(bytes.NewReader(data), lim, Expect(out))
	}
	return DecodeEnvelope(io.MultiReader(bytes.NewReader(data), lr), lim, Expect(out))
}

// readResponseBytes appends what r sends to buf until the end of input or until
// what it read ends like an envelope ("Envelope>" and white space); eof
// tells which.
func readResponseBytes(r io.Reader, buf []byte) (data []byte, eof bool, err error) {
	for {
		if cap(buf)-len(buf) < 512 {
			buf = slices.Grow(buf, max(4096, cap(buf)))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return buf, true, nil
		case err != nil:
			return buf, false, err
		case n > 0 && bytes.HasSuffix(trimXMLSpace(buf[max(0, len(buf)-64):]), []byte("Envelope>")):
			return buf, false, nil
		}
	}
}

// DecodeFindItem is DecodeResponse for a FindItem response: a CalendarView
// answer's items come out of resp's RootFolder.Items.CalendarItems()
// already converted.
func DecodeFindItem(r io.Reader, lim Limits, resp *FindItemResponse) (*Envelope, error) {
	return DecodeResponse(r, lim, resp)
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
