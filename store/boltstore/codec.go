package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/calsync/calsync/calendar"
)

// Encoding selects how occurrences are written. Both can always be read:
// every value starts with a one-byte format tag.
type Encoding string

// Encodings of occurrence values.
const (
	// EncodingBinary is a compact length-prefixed format (the default).
	EncodingBinary Encoding = "binary"
	// EncodingJSON is encoding/json, larger and slower, easy to inspect.
	EncodingJSON Encoding = "json"
)

const (
	tagJSON   = 'j'
	tagBinary = 'b'
)

var errShortValue = errors.New("value truncated")

// encodeOccurrence serializes o with the chosen encoding, without the item
// id, which the key already holds.
func encodeOccurrence(enc Encoding, o calendar.Occurrence) ([]byte, error) {
	return appendOccurrence(make([]byte, 0, 160), enc, o)
}

// appendOccurrence appends encodeOccurrence's form of o to dst.
func appendOccurrence(dst []byte, enc Encoding, o calendar.Occurrence) ([]byte, error) {
	o.ItemID = ""
	if enc == EncodingJSON {
		b, err := json.Marshal(o)
		if err != nil {
			return dst, err
		}
		return append(append(dst, tagJSON), b...), nil
	}
	var flags byte
	for i, f := range []bool{o.AllDay, o.IsMeeting, o.Cancelled} {
		if f {
			flags |= 1 << i
		}
	}
	b := append(dst, tagBinary, flags)
	for _, s := range []string{o.ItemID, o.ChangeKey, o.MasterID, o.UID, string(o.Kind), o.Subject, o.Location,
		o.Organizer, o.TimeZone, string(o.FreeBusy), string(o.Sensitivity), string(o.Response)} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(o.Categories)))
	for _, c := range o.Categories {
		b = appendString(b, c)
	}
	b = appendTime(b, o.Start)
	b = appendTime(b, o.End)
	return b, nil
}

// rowSize bounds the size of o's key and binary value from above while its
// strings are shorter than 16 KiB (a longer one only makes the buffer
// grow): CommitWindow sizes its buffer with it.
func rowSize(smtp string, o *calendar.Occurrence) int {
	n := len(smtp) + 13 + len(o.ItemID) // key
	n += 2 + 2*10                       // tag, flags, two times
	for _, s := range []string{o.ChangeKey, o.MasterID, o.UID, string(o.Kind), o.Subject, o.Location,
		o.Organizer, o.TimeZone, string(o.FreeBusy), string(o.Sensitivity), string(o.Response)} {
		n += 2 + len(s)
	}
	n += 3 // the item id's empty string and the category count
	for _, c := range o.Categories {
		n += 2 + len(c)
	}
	return n
}

// decodeOccurrence parses a value written by encodeOccurrence and sets the
// item id taken from the key. Corrupt input yields an error, never a panic.
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
		return o, errShortValue
	}
	for range n {
		o.Categories = append(o.Categories, r.string())
	}
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

// timeKey encodes t so that byte order is time order: seconds shifted into
// the unsigned range, then nanoseconds, 12 bytes.
func timeKey(t time.Time) []byte {
	return appendTimeKey(make([]byte, 0, 12), t)
}

// appendTimeKey appends timeKey(t) to dst.
func appendTimeKey(dst []byte, t time.Time) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(dst, uint32(t.Nanosecond()))
}

// keyTime is the inverse of timeKey for the first 12 bytes of k.
func keyTime(k []byte) (time.Time, bool) {
	if len(k) < 12 {
		return time.Time{}, false
	}
	sec := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(k[8:]))).UTC(), true
}

// mailboxPrefix starts the occurrence keys of a mailbox: "<smtp>\x00".
func mailboxPrefix(smtp string) []byte {
	return append([]byte(smtp), 0)
}

// occurrenceKey is <smtp>\x00<start: 12 bytes><item id>: a mailbox's
// occurrences sit together, sorted by start, then item id, as Occurrences
// must return them.
func occurrenceKey(smtp string, o calendar.Occurrence) []byte {
	return appendOccurrenceKey(nil, smtp, o)
}

// appendOccurrenceKey appends occurrenceKey(smtp, o) to dst.
func appendOccurrenceKey(dst []byte, smtp string, o calendar.Occurrence) []byte {
	dst = append(append(dst, smtp...), 0)
	return append(appendTimeKey(dst, o.Start), o.ItemID...)
}

// seqKey encodes an outbox sequence number as 8 big-endian bytes.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// saturatingSub returns t-d, clamped so that huge durations do not wrap.
func saturatingSub(t time.Time, d time.Duration) time.Time {
	if d < 0 || d > math.MaxInt64/2 {
		d = math.MaxInt64 / 2
	}
	return t.Add(-d)
}
