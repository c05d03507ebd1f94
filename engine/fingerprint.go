package engine

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"time"

	"github.com/calsync/calsync/calendar"
)

// fingerprint hashes occurrences independent of their order, so that a
// read that found the window unchanged reports no change. Each occurrence
// is hashed from a compact binary form of all its fields (strings
// length-prefixed, times as instant and zone), and the sorted per-item
// hashes are hashed again. It runs after every window read: it must not
// format (fmt of every occurrence was 5 % of a load's allocations), and
// hashes with hash/maphash (FNV-1a a byte at a time took 0.6 µs per
// occurrence: EWS ids and change keys are long).
func fingerprint(occs []calendar.Occurrence) uint64 {
	var stack [64]uint64
	sums := stack[:0]
	if len(occs) > len(stack) {
		sums = make([]uint64, 0, len(occs))
	}
	var scratch [512]byte
	buf := scratch[:0]
	for i := range occs {
		buf = appendOccurrence(buf[:0], &occs[i])
		sums = append(sums, maphash.Bytes(fingerprintSeed, buf))
	}
	slices.Sort(sums)
	var h maphash.Hash
	h.SetSeed(fingerprintSeed)
	for _, s := range sums {
		_, _ = h.Write(binary.LittleEndian.AppendUint64(buf[:0], s))
	}
	return h.Sum64()
}

// fingerprintSeed seeds every fingerprint of this process. A fingerprint
// is only compared with another of the same process (a worker's last read
// with its next) and never stored, so a per-process seed is enough.
var fingerprintSeed = maphash.MakeSeed()

// appendOccurrence appends every field of o; a field added to
// calendar.Occurrence belongs here too (fingerprint_test.go checks that
// each field changes the result).
func appendOccurrence(b []byte, o *calendar.Occurrence) []byte {
	for _, s := range [...]string{o.ItemID, o.ChangeKey, o.MasterID, o.UID, string(o.Kind),
		o.Subject, o.Location, o.Organizer, o.TimeZone,
		string(o.FreeBusy), string(o.Sensitivity), string(o.Response)} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(o.Categories)))
	for _, c := range o.Categories {
		b = appendString(b, c)
	}
	b = appendTime(appendTime(b, o.Start), o.End)
	for _, f := range [...]bool{o.AllDay, o.IsMeeting, o.Cancelled} {
		if f {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendTime appends the instant and the zone it is expressed in (the
// same instant in another zone counts as a change, as it did when
// occurrences were compared in their printed form).
func appendTime(b []byte, t time.Time) []byte {
	name, offset := t.Zone()
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	b = binary.AppendVarint(b, int64(offset))
	return appendString(b, name)
}
