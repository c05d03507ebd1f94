package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
)

func fingerprintSample() []calendar.Occurrence {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	return []calendar.Occurrence{
		{ItemID: "a", ChangeKey: "ck1", UID: "u1", Kind: calendar.KindSingle, Subject: "Standup", Location: "Room 1",
			Organizer: "o@example.com", Categories: []string{"x", "y"}, Start: start, End: start.Add(time.Hour),
			TimeZone: "Europe/Berlin", FreeBusy: calendar.Busy, Sensitivity: calendar.Normal, Response: calendar.ResponseAccept, IsMeeting: true},
		{ItemID: "b", MasterID: "m", Kind: calendar.KindOccurrence, Subject: "Lunch", Start: start.Add(3 * time.Hour), End: start.Add(4 * time.Hour)},
	}
}

// TestFingerprintOrderIndependent: the same occurrences in another order
// are the same window.
func TestFingerprintOrderIndependent(t *testing.T) {
	occs := fingerprintSample()
	rev := []calendar.Occurrence{occs[1], occs[0]}
	if fingerprint(occs) != fingerprint(rev) {
		t.Fatal("fingerprint depends on the order of the occurrences")
	}
	if fingerprint(nil) == fingerprint(occs[:1]) {
		t.Fatal("an empty window has the fingerprint of a non-empty one")
	}
}

// TestFingerprintEveryField: changing any field of any occurrence changes
// the fingerprint (a field added to calendar.Occurrence and forgotten in
// appendOccurrence fails here).
func TestFingerprintEveryField(t *testing.T) {
	base := fingerprint(fingerprintSample())
	typ := reflect.TypeOf(calendar.Occurrence{})
	for i := range typ.NumField() {
		occs := fingerprintSample()
		f := reflect.ValueOf(&occs[1]).Elem().Field(i)
		switch v := f.Addr().Interface().(type) {
		case *time.Time:
			*v = v.Add(time.Second)
		case *bool:
			*v = !*v
		case *[]string:
			*v = append(*v, "z")
		default:
			if f.Kind() != reflect.String {
				t.Fatalf("field %s: type %s not covered by this test", typ.Field(i).Name, f.Type())
			}
			f.SetString(f.String() + "!")
		}
		if fingerprint(occs) == base {
			t.Errorf("changing %s does not change the fingerprint", typ.Field(i).Name)
		}
	}
}

// TestFingerprintBoundaries: strings are delimited, the zone of a time
// counts, and items do not blend into each other.
func TestFingerprintBoundaries(t *testing.T) {
	a := []calendar.Occurrence{{ItemID: "ab", ChangeKey: "c"}}
	b := []calendar.Occurrence{{ItemID: "a", ChangeKey: "bc"}}
	if fingerprint(a) == fingerprint(b) {
		t.Error("string boundaries are not part of the fingerprint")
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	utc := []calendar.Occurrence{{ItemID: "a", Start: at, End: at}}
	local := []calendar.Occurrence{{ItemID: "a", Start: at.In(berlin), End: at.In(berlin)}}
	if fingerprint(utc) == fingerprint(local) {
		t.Error("the zone of a time is not part of the fingerprint")
	}
}

func BenchmarkFingerprint(b *testing.B) {
	occs := make([]calendar.Occurrence, 0, 40)
	for range 20 {
		occs = append(occs, fingerprintSample()...)
	}
	b.ReportAllocs()
	for b.Loop() {
		fingerprint(occs)
	}
}
