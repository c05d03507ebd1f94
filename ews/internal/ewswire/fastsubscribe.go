package ewswire

import (
	"encoding/xml"
	"sync"
)

// decodeSubscribeFast decodes a Subscribe answer of one message with the
// token scanner into the envelope DecodeEnvelope(…, Expect(resp)) gives,
// filling resp only when it succeeds. Every error means "decode the body
// with DecodeEnvelope" (see DecodeFindItemCalendar). A load subscribes
// every mailbox, so this answer is as frequent as the CalendarView pages.
func decodeSubscribeFast(data []byte, lim Limits, resp *SubscribeResponse) (*Envelope, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, ErrTooLarge
	}
	d := subscribeDecoders.Get().(*fastDecoder)
	defer recycleSubscribeDecoder(d)
	*d = fastDecoder{s: fastScanner{data: data, maxDepth: lim.MaxDepth}, buf: d.buf[:0]}
	d.s.init()
	var m SubscribeResponseMessage
	n := 0
	read := func() error {
		var seen fieldSet
		return d.responseMessage(&m.ResponseMessage, func(local string) (bool, error) {
			dst, bit := &m.SubscriptionId, uint(0)
			switch local {
			case "SubscriptionId":
			case "Watermark":
				dst, bit = &m.Watermark, 1
			default:
				return false, nil
			}
			if err := seen.once(bit); err != nil {
				return true, err
			}
			v, err := d.str()
			*dst = v
			return true, err
		})
	}
	if err := d.envelope("SubscribeResponse", d.responseMessages("SubscribeResponseMessage", &n, read)); err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, errNotFast
	}
	name := xml.Name{Space: NSMessages, Local: "SubscribeResponse"}
	*resp = SubscribeResponse{XMLName: name}
	resp.ResponseMessages.Messages = []SubscribeResponseMessage{m}
	return &Envelope{SOAP12: d.soap12, Header: Header{ServerVersionInfo: d.serverVersion}, BodyName: name, Body: resp}, nil
}

// subscribeDecoders recycle the Subscribe answers' decoders: about 2 KB
// each with the scanner's stacks, one per mailbox at every load (2.5 % of
// the bytes a 10,000-mailbox load allocated).
var subscribeDecoders = sync.Pool{New: func() any { return new(fastDecoder) }}

// recycleSubscribeDecoder drops what d read (the answer's bytes, its
// header) and recycles it with its text buffer; the strings it decoded
// are copies and stay with the caller.
func recycleSubscribeDecoder(d *fastDecoder) {
	d.release()
	buf := d.buf[:0]
	if cap(buf) > 4<<10 {
		buf = nil // a rare long text is not kept
	}
	*d = fastDecoder{buf: buf}
	subscribeDecoders.Put(d)
}
