package ewswire

import "encoding/xml"

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
	d := &fastDecoder{s: fastScanner{data: data, maxDepth: lim.MaxDepth}}
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
