package ewswire

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"

	"github.com/calsync/calsync/ews"
)

// StreamReader decodes the body of a GetStreamingEvents response: complete
// SOAP envelopes back to back, without separators (XML declarations between
// them are allowed). Each envelope is decoded as soon as its last byte
// arrives; Limits apply per envelope.
type StreamReader struct {
	dec *xml.Decoder
	br  *budgetReader
	err error
}

// NewStreamReader reads envelopes from r.
func NewStreamReader(r io.Reader, lim Limits) *StreamReader {
	dec, br := newDecoder(r, lim)
	return &StreamReader{dec: dec, br: br}
}

// Next returns the next envelope. Its Body is a *GetStreamingEventsResponse
// or a *Fault. io.EOF means the stream ended cleanly between envelopes; any
// other error is final.
func (s *StreamReader) Next() (*Envelope, error) {
	if s.err != nil {
		return nil, s.err
	}
	s.br.used = 0
	start, err := nextStart(s.dec)
	if err != nil {
		if errors.Is(err, io.EOF) && s.br.readErr == nil {
			s.err = io.EOF
			return nil, io.EOF
		}
		s.err = classify(err, s.br)
		return nil, s.err
	}
	env, err := readEnvelope(s.dec, func(xml.Name) any { return &GetStreamingEventsResponse{} }, &start)
	if err != nil {
		s.err = classify(err, s.br)
		return nil, s.err
	}
	return env, nil
}

// BytesRead is the number of bytes consumed from the stream so far.
func (s *StreamReader) BytesRead() int64 { return s.br.total }

// StreamWriter writes the envelopes of a GetStreamingEvents response as
// Exchange 2013+ does: each one in the streamed envelope form (see
// streamedEnvelope), written with a single Write and flushed, so each
// message travels in its own HTTP chunk when the writer can flush (as
// http.ResponseWriter does). Notification and the SubscriptionId of
// ErrorSubscriptionIds are written in the messages namespace, as Exchange
// does, unless SchemaNamespace is set.
type StreamWriter struct {
	w      io.Writer
	header *Header
	schema bool
	buf    bytes.Buffer
}

// NewStreamWriter writes envelopes with the given headers (usually
// ServerVersionInfo) to w.
func NewStreamWriter(w io.Writer, h *Header) *StreamWriter { return &StreamWriter{w: w, header: h} }

// SchemaNamespace switches to the schema's t:Notification and
// t:SubscriptionId, which validate against Messages.xsd but are not what
// Exchange sends.
func (s *StreamWriter) SchemaNamespace() *StreamWriter {
	s.schema = true
	return s
}

// Write encodes one envelope holding msgs and flushes it.
func (s *StreamWriter) Write(msgs ...GetStreamingEventsResponseMessage) error {
	resp := &GetStreamingEventsResponse{}
	for _, m := range msgs {
		resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, s.namespaced(m))
	}
	s.buf.Reset()
	if err := encodeEnvelope(&s.buf, streamedEnvelope, s.header, resp); err != nil {
		return err
	}
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return err
	}
	switch f := s.w.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case interface{ Flush() error }:
		return f.Flush()
	case interface{ Flush() }:
		f.Flush()
	}
	return nil
}

// namespaced sets the namespace the writer uses for notifications and
// subscription ids.
func (s *StreamWriter) namespaced(m GetStreamingEventsResponseMessage) GetStreamingEventsResponseMessage {
	if n := m.Notifications; n != nil {
		c := *n
		c.MessagesNamespace = !s.schema
		m.Notifications = &c
	}
	if ids := m.ErrorSubscriptionIds; ids != nil {
		c := *ids
		c.MessagesNamespace = !s.schema
		m.ErrorSubscriptionIds = &c
	}
	return m
}

// ConnectionStatusMessage is a heartbeat (OK) or the final Closed message.
func ConnectionStatusMessage(status ews.ConnectionStatus) GetStreamingEventsResponseMessage {
	return GetStreamingEventsResponseMessage{ResponseMessage: Success(), ConnectionStatus: string(status)}
}

// NotificationsMessage carries notifications (the StreamWriter picks their
// namespace).
func NotificationsMessage(ns ...ews.Notification) GetStreamingEventsResponseMessage {
	m := GetStreamingEventsResponseMessage{ResponseMessage: Success(), Notifications: &StreamingNotifications{}}
	for _, n := range ns {
		m.Notifications.Notification = append(m.Notifications.Notification, *NotificationFrom(n))
	}
	return m
}

// SubscriptionErrorMessage reports failed subscriptions; err supplies the
// code and text (the StreamWriter picks the SubscriptionId namespace).
func SubscriptionErrorMessage(err error, subscriptionIDs ...string) GetStreamingEventsResponseMessage {
	return GetStreamingEventsResponseMessage{ResponseMessage: ErrorResponseMessage(err),
		ErrorSubscriptionIds: &SubscriptionIdList{SubscriptionId: subscriptionIDs}}
}
