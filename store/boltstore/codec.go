package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/calendar"
)

// Encoding selects how windows are written. Both can always be read:
// every value starts with a one-byte format tag (window.go).
type Encoding string

// Encodings of occurrence values.
const (
	// EncodingBinary is a compact length-prefixed format (the default).
	EncodingBinary Encoding = "binary"
	// EncodingJSON is encoding/json, larger and slower, easy to inspect.
	EncodingJSON Encoding = "json"
)

// Tags of a schema-1 occurrence value (one per bolt key), read only by the
// upgrade (upgrade.go).
const (
	tagJSON   = 'j'
	tagBinary = 'b'
)

var errShortValue = errors.New("value truncated")

// appendFields appends everything of o but its start and end: the flags
// byte, the strings (item id first) and the categories. A schema-1 value
// (appendOccurrence) puts the two times after them, a window record
// (window.go) before them.
func appendFields(b []byte, o *calendar.Occurrence) []byte {
	var flags byte
	for i, f := range []bool{o.AllDay, o.IsMeeting, o.Cancelled} {
		if f {
			flags |= 1 << i
		}
	}
	b = append(b, flags)
	for _, s := range []string{o.ItemID, o.ChangeKey, o.MasterID, o.UID, string(o.Kind), o.Subject, o.Location,
		o.Organizer, o.TimeZone, string(o.FreeBusy), string(o.Sensitivity), string(o.Response)} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(o.Categories)))
	for _, c := range o.Categories {
		b = appendString(b, c)
	}
	return b
}

// decodeOccurrence parses a schema-1 occurrence value (the tag, then
// appendFields with an empty item id and the two times, or the tag and
// JSON) and sets the item id taken from its key. Corrupt input yields an
// error, never a panic.
func decodeOccurrence(itemID string, v []byte) (calendar.Occurrence, error) {
	o, err := decodeOccurrenceValue(v)
	o.ItemID = itemID
	return o, err
}

func decodeOccurrenceValue(v []byte) (calendar.Occurrence, error) {
	var o calendar.Occurrence
	if len(v) == 0 {
		return o, errShortValue
	}
	switch v[0] {
	case tagJSON:
		if err := json.Unmarshal(v[1:], &o); err != nil {
			return o, err
		}
		o.Start, o.End = o.Start.UTC(), o.End.UTC()
		if len(o.Categories) == 0 {
			o.Categories = nil
		}
		return o, nil
	case tagBinary:
	default:
		return o, fmt.Errorf("unknown value format %q", v[0])
	}
	r := reader{b: v[1:]}
	r.fields(&o)
	o.Start = r.time()
	o.End = r.time()
	if r.err != nil {
		return o, r.err
	}
	if len(r.b) != 0 {
		return o, fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return o, nil
}

// fields reads what appendFields wrote into o.
func (r *reader) fields(o *calendar.Occurrence) {
	flags := r.byte()
	o.AllDay, o.IsMeeting, o.Cancelled = flags&1 != 0, flags&2 != 0, flags&4 != 0
	o.ItemID = r.string()
	o.ChangeKey = r.string()
	o.MasterID = r.string()
	o.UID = r.string()
	o.Kind = calendar.ItemKind(r.string())
	o.Subject = r.string()
	o.Location = r.string()
	o.Organizer = r.string()
	o.TimeZone = r.string()
	o.FreeBusy = calendar.FreeBusy(r.string())
	o.Sensitivity = calendar.Sensitivity(r.string())
	o.Response = calendar.ResponseType(r.string())
	n := r.uvarint()
	if n > uint64(len(r.b)) { // each category takes at least one byte
		r.fail()
		return
	}
	for range n {
		o.Categories = append(o.Categories, r.string())
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// reader decodes the binary format; the first error sticks and later reads
// return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShortValue
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) time() time.Time {
	sec := r.varint()
	nsec := r.uvarint()
	if r.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		r.err = fmt.Errorf("nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	if sec == zeroUnix && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// zeroUnix is time.Time{}.Unix(), so that the zero time survives a round trip.
var zeroUnix = time.Time{}.Unix()

// seqKey encodes an outbox sequence number as 8 big-endian bytes.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
