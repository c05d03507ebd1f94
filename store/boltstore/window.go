package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/calsync/calsync/calendar"
)

// A mailbox's window is one bolt value (schema 2): writing it is one Put
// instead of a delete and a put per occurrence, which cost the initial
// load about a fifth of its CPU (docs/store.md, "Why one value per
// window").
//
// Binary ('W'): the tag, then one record per occurrence in the order
// Occurrences returns them (start, then item id):
//
//	uvarint(len(body)) body
//	body = varint start seconds, uvarint start ns, varint end seconds, uvarint end ns, appendFields
//
// The times come first and every record carries its length, so a query
// for an hour reads two times per record and decodes only the records it
// returns. JSON ('J'): the tag, then a JSON array of the occurrences.
const (
	tagWindowBinary = 'W'
	tagWindowJSON   = 'J'
)

// appendWindow appends the window value of occs, which must be sorted as
// store.PrepareCommit sorts them.
func appendWindow(dst []byte, enc Encoding, occs []calendar.Occurrence) ([]byte, error) {
	if enc == EncodingJSON {
		b, err := json.Marshal(occs)
		if err != nil {
			return dst, err
		}
		return append(append(dst, tagWindowJSON), b...), nil
	}
	dst = append(dst, tagWindowBinary)
	for i := range occs {
		at := len(dst)
		dst = appendTime(dst, occs[i].Start)
		dst = appendTime(dst, occs[i].End)
		dst = appendFields(dst, &occs[i])
		// The length goes before the body; known only now, so the body
		// moves up by its one to three bytes.
		var prefix [binary.MaxVarintLen64]byte
		n := binary.PutUvarint(prefix[:], uint64(len(dst)-at))
		dst = slices.Insert(dst, at, prefix[:n]...)
	}
	return dst, nil
}

// windowSize bounds the size of occs's binary window value from above
// while its strings are shorter than 16 KiB and its records than 2 MiB
// (a longer one only makes the buffer grow): CommitWindow sizes its
// buffer with it.
func windowSize(occs []calendar.Occurrence) int {
	n := 1
	for i := range occs {
		o := &occs[i]
		n += 3 + 2*10 + 1 + 3 // length, two times, flags, category count
		for _, s := range []string{o.ItemID, o.ChangeKey, o.MasterID, o.UID, string(o.Kind), o.Subject, o.Location,
			o.Organizer, o.TimeZone, string(o.FreeBusy), string(o.Sensitivity), string(o.Response)} {
			n += 2 + len(s)
		}
		for _, c := range o.Categories {
			n += 2 + len(c)
		}
	}
	return n
}

// decodeWindow returns the occurrences of the window value v that overlap
// [start, end), in stored order. Corrupt input yields an error, never a
// panic.
func decodeWindow(v []byte, start, end time.Time) ([]calendar.Occurrence, error) {
	if len(v) == 0 {
		return nil, errShortValue
	}
	switch v[0] {
	case tagWindowJSON:
		var all []calendar.Occurrence
		if err := json.Unmarshal(v[1:], &all); err != nil {
			return nil, err
		}
		var out []calendar.Occurrence
		for _, o := range all {
			o.Start, o.End = o.Start.UTC(), o.End.UTC()
			if len(o.Categories) == 0 {
				o.Categories = nil
			}
			if o.Overlaps(start, end) {
				out = append(out, o)
			}
		}
		return out, nil
	case tagWindowBinary:
	default:
		return nil, fmt.Errorf("unknown window format %q", v[0])
	}
	var out []calendar.Occurrence
	r := reader{b: v[1:]}
	for len(r.b) > 0 {
		n := r.uvarint()
		if r.err == nil && n > uint64(len(r.b)) {
			r.fail()
		}
		if r.err != nil {
			return nil, r.err
		}
		rec := reader{b: r.b[:n]}
		r.b = r.b[n:]
		o := calendar.Occurrence{Start: rec.time(), End: rec.time()}
		if rec.err != nil {
			return nil, rec.err
		}
		if !o.Start.Before(end) {
			break // records are sorted by start: none later overlaps
		}
		if !o.Overlaps(start, end) {
			continue
		}
		rec.fields(&o)
		if rec.err != nil {
			return nil, rec.err
		}
		if len(rec.b) != 0 {
			return nil, fmt.Errorf("%d trailing bytes in an occurrence record", len(rec.b))
		}
		out = append(out, o)
	}
	return out, nil
}
