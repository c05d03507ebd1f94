package ewswire

import "sync"

// fastDecoder reads the SOAP envelope around a response body with the token
// scanner (fastxml.go): the parts every EWS response shares — the envelope,
// a ServerVersionInfo header, the body's one response element and its
// response messages. The decoders of single shapes (fastcalendar.go,
// fastsubscribe.go) read what is inside. Like them, it answers errNotFast
// for everything outside the common shapes (faults, other headers,
// repeated elements), and the caller decodes those bodies with
// encoding/xml.
type fastDecoder struct {
	s   fastScanner
	buf []byte
	// soap12 and serverVersion are what the envelope said.
	soap12        bool
	serverVersion *ServerVersionInfo
	interned      map[string]string
	// headers, when set, takes every header DecodeEnvelope knows
	// (readHeaders); otherwise only a ServerVersionInfo is accepted.
	headers *Header
}

// each runs fn for every child element of the current element, checking
// (and dropping) the character data between them.
func (d *fastDecoder) each(fn func() error) error {
	for {
		tok, err := d.s.next()
		if err != nil {
			return err
		}
		switch tok {
		case tokEnd:
			return nil
		case tokText:
			if err := d.s.checkText(); err != nil {
				return err
			}
		case tokStart:
			if err := fn(); err != nil {
				return err
			}
		}
	}
}

// fields reads the children of the current element that are in namespace
// space and named in names, each at most once (a repeated one is left to
// encoding/xml), handing read its index; the others are skipped, as
// encoding/xml skips elements no field names.
func (d *fastDecoder) fields(space int, names []string, read func(i int) error) error {
	s := &d.s
	var seen fieldSet
	return d.each(func() error {
		if s.space == space {
			for i, n := range names {
				if string(s.local) == n {
					if err := seen.once(uint(i)); err != nil {
						return err
					}
					return read(i)
				}
			}
		}
		return s.skip()
	})
}

// list hands read every child of the current element in namespace space
// named name (the items of an array) and skips the others.
func (d *fastDecoder) list(space int, name string, read func() error) error {
	s := &d.s
	return d.each(func() error {
		if s.space != space || string(s.local) != name {
			return s.skip()
		}
		return read()
	})
}

// onlySpace checks that the current character data is white space, as
// the envelope and the SOAP body require.
func (d *fastDecoder) onlySpace() error {
	for _, b := range d.s.raw {
		if !isXMLSpace(b) {
			return errNotFast
		}
	}
	return nil
}

// envelope reads the whole input: an envelope whose body holds one
// m:<response> element, whose children go to read one by one.
func (d *fastDecoder) envelope(response string, read func() error) error {
	return d.envelopeOf(response, func() error { return d.each(read) })
}

// envelopeOf is envelope for a response element read as a whole by
// readResponse (its attributes too: a GetMailTipsResponse is itself a
// response message).
func (d *fastDecoder) envelopeOf(response string, readResponse func() error) error {
	return d.envelopeIn(nsMessages, response, readResponse)
}

// envelopeIn is envelopeOf for a response element in namespace space.
func (d *fastDecoder) envelopeIn(space int, response string, readResponse func() error) error {
	s := &d.s
	if err := s.prolog(); err != nil {
		return err
	}
	if _, err := s.next(); err != nil {
		return err
	}
	soap := s.space
	if string(s.local) != "Envelope" || soap != nsSOAP11 && soap != nsSOAP12 {
		return errNotFast
	}
	d.soap12 = soap == nsSOAP12
	sawHeader, sawBody := false, false
	for {
		tok, err := s.next()
		if err != nil {
			return err
		}
		switch tok {
		case tokEnd:
			if !sawBody {
				return errNotFast
			}
			return nil
		case tokText:
			if err := d.onlySpace(); err != nil {
				return err
			}
		case tokStart:
			switch {
			case s.space == soap && string(s.local) == "Header" && !sawHeader && !sawBody:
				sawHeader = true
				if d.headers != nil {
					err = d.each(d.anyHeader)
				} else {
					err = d.each(d.header)
				}
			case s.space == soap && string(s.local) == "Body" && !sawBody:
				sawBody = true
				err = d.body(space, response, readResponse)
			default:
				err = errNotFast
			}
			if err != nil {
				return err
			}
		}
	}
}

func (d *fastDecoder) header() error {
	s := &d.s
	if s.space != nsTypes || string(s.local) != "ServerVersionInfo" || d.serverVersion != nil {
		return errNotFast
	}
	v := &ServerVersionInfo{}
	for _, a := range []struct {
		name string
		dst  *int
	}{{"MajorVersion", &v.MajorVersion}, {"MinorVersion", &v.MinorVersion}, {"MajorBuildNumber", &v.MajorBuildNumber}, {"MinorBuildNumber", &v.MinorBuildNumber}} {
		if b, ok := s.attr(a.name); ok {
			n, err := parseXMLInt(b)
			if err != nil {
				return err
			}
			*a.dst = n
		}
	}
	if b, ok := s.attr("Version"); ok {
		v.Version = string(b)
	}
	v.XMLName.Space, v.XMLName.Local = NSTypes, "ServerVersionInfo"
	d.serverVersion = v
	return s.skip()
}

func (d *fastDecoder) body(space int, response string, readResponse func() error) error {
	s := &d.s
	seen := false
	for {
		tok, err := s.next()
		if err != nil {
			return err
		}
		switch tok {
		case tokEnd:
			if !seen {
				return errNotFast
			}
			return nil
		case tokText:
			if err := d.onlySpace(); err != nil {
				return err
			}
		case tokStart:
			if seen || s.space != space || string(s.local) != response {
				return errNotFast
			}
			seen = true
			if err := readResponse(); err != nil {
				return err
			}
		}
	}
}

// responseMessage reads the current m:*ResponseMessage element into m; its
// other children in the messages namespace go to field, which reports
// whether it read the element (those it did not are skipped, as
// encoding/xml skips elements no field names).
func (d *fastDecoder) responseMessage(m *ResponseMessage, field func(local string) (bool, error)) error {
	s := &d.s
	if b, ok := s.attr("ResponseClass"); ok {
		m.ResponseClass = string(b)
	}
	var seen fieldSet
	return d.each(func() error {
		if s.space != nsMessages {
			return s.skip()
		}
		var err error
		switch string(s.local) {
		case "MessageText":
			if err = seen.once(0); err == nil {
				m.MessageText, err = d.str()
			}
		case "ResponseCode":
			if err = seen.once(1); err == nil {
				m.ResponseCode, err = d.str()
			}
		case "DescriptiveLinkKey", "MessageXml":
			err = errNotFast
		default:
			var read bool
			if read, err = field(string(s.local)); !read && err == nil {
				err = s.skip()
			}
		}
		return err
	})
}

// responseMessages returns the reader of a response element's children:
// it reads m:ResponseMessages, handing each m:<message> in it to read and
// counting them in *n; more than one message is left to encoding/xml (the
// fast decoders answer single-mailbox requests), and so is a second
// m:ResponseMessages after one with a message.
func (d *fastDecoder) responseMessages(message string, n *int, read func() error) func() error {
	s := &d.s
	return func() error {
		if s.space != nsMessages || string(s.local) != "ResponseMessages" {
			return s.skip()
		}
		if *n > 0 {
			return errNotFast
		}
		return d.each(func() error {
			if s.space != nsMessages || string(s.local) != message {
				return s.skip()
			}
			if *n++; *n > 1 {
				return errNotFast
			}
			return read()
		})
	}
}

// str reads the current element's text as a new string.
func (d *fastDecoder) str() (string, error) {
	b, buf, err := d.s.textOnly(d.buf)
	d.buf = buf
	return string(b), err
}

// internTables recycle the decoders' intern tables with their contents:
// the values that repeat within an answer (enumerations, zone ids, folder
// names) repeat from answer to answer too, so a table that outlives its
// answer saves allocating them again, and the table itself.
var internTables = sync.Pool{New: func() any { return make(map[string]string, maxInterned) }}

// maxInterned bounds a table: a full one is emptied when it goes back to
// the pool, so that values an answer no longer repeats give way.
const maxInterned = 256

// intern returns b as a string, shared with earlier equal values
// (bounded, for short values only): enumerations and names that repeat
// in every item or mailbox of an answer.
func (d *fastDecoder) intern(b []byte) string {
	if d.interned == nil {
		d.interned = internTables.Get().(map[string]string)
	}
	if v, ok := d.interned[string(b)]; ok {
		return v
	}
	v := string(b)
	if len(b) <= 64 && len(d.interned) < maxInterned {
		d.interned[v] = v
	}
	return v
}

// release gives the intern table back; the decoder must not intern after.
func (d *fastDecoder) release() {
	if d.interned == nil {
		return
	}
	if len(d.interned) >= maxInterned {
		clear(d.interned)
	}
	internTables.Put(d.interned)
	d.interned = nil
}

// internText reads the current element's text as an interned string.
func (d *fastDecoder) internText() (string, error) {
	b, buf, err := d.s.textOnly(d.buf)
	d.buf = buf
	if err != nil {
		return "", err
	}
	return d.intern(b), nil
}
