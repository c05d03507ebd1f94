package boltstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
)

func sampleOccurrence() calendar.Occurrence {
	start := time.Date(2026, 3, 29, 0, 30, 0, 123456789, time.UTC)
	return calendar.Occurrence{
		ItemID: "AAMkAGI2TG93AAA=", ChangeKey: "DwAAABYAAAA", MasterID: "AAMkMaster", UID: "040000008200E00074C5B7101A82E008",
		Kind: calendar.KindException, Subject: "Quarterly review – Q1 ✓", Location: "Room 4.12", Organizer: "boss@example.com",
		Categories: []string{"Red", "Planning"}, Start: start, End: start.Add(90 * time.Minute), AllDay: true,
		TimeZone: "Europe/Berlin", FreeBusy: calendar.Tentative, Sensitivity: calendar.Private,
		Response: calendar.ResponseNoResponse, IsMeeting: true, Cancelled: true,
	}
}

func TestOccurrenceCodecRoundTrip(t *testing.T) {
	full := sampleOccurrence()
	minimal := calendar.Occurrence{ItemID: "x"}
	beforeEpoch := calendar.Occurrence{ItemID: "y", Start: time.Date(1950, 1, 1, 0, 0, 0, 1, time.UTC), End: time.Date(1950, 1, 1, 1, 0, 0, 0, time.UTC)}
	for _, enc := range []Encoding{EncodingBinary, EncodingJSON} {
		for name, o := range map[string]calendar.Occurrence{"full": full, "minimal": minimal, "before epoch": beforeEpoch} {
			v, err := encodeOccurrence(enc, o)
			if err != nil {
				t.Fatalf("%s %s: encode: %v", enc, name, err)
			}
			got, err := decodeOccurrence(o.ItemID, v)
			if err != nil {
				t.Fatalf("%s %s: decode: %v", enc, name, err)
			}
			if !reflect.DeepEqual(got, o) {
				t.Errorf("%s %s round trip:\n got  %+v\n want %+v", enc, name, got, o)
			}
		}
	}
}

// Every truncation and every single-byte change of a valid value must
// decode to an error or a value, never panic.
func TestOccurrenceDecodeDamagedInput(t *testing.T) {
	v, err := encodeOccurrence(EncodingBinary, sampleOccurrence())
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		if _, err := decodeOccurrence("id", v[:i]); err == nil {
			t.Errorf("truncation to %d of %d bytes decoded without error", i, len(v))
		}
		for _, b := range []byte{0, 0x7f, 0xff} {
			bad := append([]byte(nil), v...)
			bad[i] = b
			_, _ = decodeOccurrence("id", bad)
		}
	}
	if _, err := decodeOccurrence("id", []byte{'z', 1, 2}); err == nil {
		t.Error("unknown format tag decoded without error")
	}
}

func FuzzDecodeOccurrence(f *testing.F) {
	v, _ := encodeOccurrence(EncodingBinary, sampleOccurrence())
	f.Add(v)
	f.Add([]byte("j{}"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodeOccurrence("id", b) })
}

// TestWindowSizeBoundsValue: CommitWindow's buffer estimate covers the
// binary window value, for full, minimal and long occurrences.
func TestWindowSizeBoundsValue(t *testing.T) {
	long := sampleOccurrence()
	long.Subject = string(make([]byte, 5000))
	long.Start = time.Date(2400, 1, 1, 0, 0, 0, 999999999, time.UTC)
	for name, occs := range map[string][]calendar.Occurrence{
		"full": {sampleOccurrence()}, "minimal": {{ItemID: "x"}}, "long": {long}, "none": nil,
		"several": {{ItemID: "x"}, sampleOccurrence(), long},
	} {
		v, err := appendWindow(nil, EncodingBinary, occs)
		if err != nil {
			t.Fatal(err)
		}
		if size := windowSize(occs); len(v) > size {
			t.Errorf("%s: window of %d bytes, estimate %d", name, len(v), size)
		}
	}
}

// encodeOccurrence writes a schema-1 occurrence value, as schema-1
// boltstore did (the item id lives in the key): what the upgrade reads.
func encodeOccurrence(enc Encoding, o calendar.Occurrence) ([]byte, error) {
	o.ItemID = ""
	if enc == EncodingJSON {
		b, err := json.Marshal(o)
		return append([]byte{tagJSON}, b...), err
	}
	b := appendFields([]byte{tagBinary}, &o)
	b = appendTime(b, o.Start)
	return appendTime(b, o.End), nil
}
