package boltstore

import (
	"reflect"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// sampleWindow is a window as CommitWindow stores it: sorted, with a
// zero-length item, two items at one instant, one before the epoch and
// one ending after all others start.
func sampleWindow() []calendar.Occurrence {
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	occs := []calendar.Occurrence{
		sampleOccurrence(),
		{ItemID: "zero", Start: base, End: base},
		{ItemID: "a", Subject: "at nine", Start: base, End: base.Add(time.Hour), Categories: []string{"Blue"}},
		{ItemID: "long", Start: base.Add(-48 * time.Hour), End: base.Add(72 * time.Hour)},
		{ItemID: "old", Start: time.Date(1950, 1, 1, 0, 0, 0, 1, time.UTC), End: time.Date(1950, 1, 1, 1, 0, 0, 0, time.UTC)},
		{ItemID: "later", Start: base.Add(5 * time.Hour), End: base.Add(6 * time.Hour), IsMeeting: true},
	}
	store.SortOccurrences(occs)
	return occs
}

func TestWindowCodecRoundTrip(t *testing.T) {
	all := sampleWindow()
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ranges := [][2]time.Time{
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}, // everything
		{base, base.Add(time.Minute)},                                     // the zero-length item, the long one, "a"
		{base.Add(time.Hour), base.Add(2 * time.Hour)},                    // only the long one
		{base.Add(5*time.Hour + 30*time.Minute), base.Add(7 * time.Hour)}, // "later" and "long"
		{base.Add(100 * time.Hour), base.Add(200 * time.Hour)},            // none
	}
	for _, enc := range []Encoding{EncodingBinary, EncodingJSON} {
		for _, occs := range [][]calendar.Occurrence{all, nil, all[:1]} {
			v, err := appendWindow(nil, enc, occs)
			if err != nil {
				t.Fatalf("%s: encode: %v", enc, err)
			}
			for _, r := range ranges {
				var want []calendar.Occurrence
				for _, o := range occs {
					if o.Overlaps(r[0], r[1]) {
						want = append(want, o)
					}
				}
				got, err := decodeWindow(v, r[0], r[1])
				if err != nil {
					t.Fatalf("%s: decode [%s, %s): %v", enc, r[0], r[1], err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s [%s, %s) of %d items:\n got  %+v\n want %+v", enc, r[0], r[1], len(occs), got, want)
				}
			}
		}
	}
}

// Every truncation and every single-byte change of a valid window must
// decode to an error or to occurrences, never panic; a truncation returns
// at most the records before the cut.
func TestWindowDecodeDamagedInput(t *testing.T) {
	occs := sampleWindow()
	v, err := appendWindow(nil, EncodingBinary, occs)
	if err != nil {
		t.Fatal(err)
	}
	far0, far1 := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range v {
		got, err := decodeWindow(v[:i], far0, far1)
		if err == nil && (len(got) >= len(occs) || len(got) > 0 && !reflect.DeepEqual(got, occs[:len(got)])) {
			t.Errorf("truncation to %d of %d bytes decoded to %d items that are not a prefix", i, len(v), len(got))
		}
		for _, b := range []byte{0, 0x7f, 0xff} {
			bad := append([]byte(nil), v...)
			bad[i] = b
			_, _ = decodeWindow(bad, far0, far1)
		}
	}
	if _, err := decodeWindow([]byte{'z', 1, 2}, far0, far1); err == nil {
		t.Error("unknown format tag decoded without error")
	}
}

func FuzzDecodeWindow(f *testing.F) {
	v, _ := appendWindow(nil, EncodingBinary, sampleWindow())
	f.Add(v)
	f.Add([]byte("J[]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeWindow(b, time.Time{}, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
	})
}
