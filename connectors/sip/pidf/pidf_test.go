package pidf

import (
	"slices"
	"strings"
	"testing"
)

func TestMarshalParseRoundTrip(t *testing.T) {
	d := Document{Entity: "sip:alice@example.test", Open: true, Activities: []string{"busy", "meeting"},
		Note: `In a meeting until 15:00 <"R&D">`, TupleID: "alice"}
	p, err := Parse(d.Marshal())
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, d.Marshal())
	}
	if p.Entity != d.Entity || p.Basic != "open" || p.Note != d.Note || !slices.Equal(p.Activities, d.Activities) || p.Tuples != 1 || p.Persons != 1 {
		t.Fatalf("parsed %+v from\n%s", p, d.Marshal())
	}
}

func TestAvailableHasNoActivities(t *testing.T) {
	body := string(Document{Entity: "sip:bob@example.test", Open: true}.Marshal())
	if strings.Contains(body, "activities") || strings.Contains(body, "note") {
		t.Fatalf("available with no note wrote activities or a note:\n%s", body)
	}
	p, err := Parse([]byte(body))
	if err != nil || p.Basic != "open" || len(p.Activities) != 0 {
		t.Fatalf("parsed %+v, %v", p, err)
	}
}

func TestClosedAndAggregated(t *testing.T) {
	// What a server relays when it keeps two publications of one presentity.
	one := Document{Entity: "sip:c@example.test", Activities: []string{"vacation"}, TupleID: "a"}.Marshal()
	two := Document{Entity: "sip:c@example.test", Open: true, TupleID: "b"}.Marshal()
	body := strings.Replace(string(one), "</presence>", strings.SplitN(strings.SplitN(string(two), "\n", 3)[2], "</presence>", 2)[0]+"</presence>", 1)
	p, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	if p.Basic != "closed" || p.Tuples != 2 || p.Persons != 2 {
		t.Fatalf("parsed %+v from\n%s", p, body)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	if _, err := Parse([]byte("<presence")); err == nil {
		t.Fatal("no error for a truncated document")
	}
}
