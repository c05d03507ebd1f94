// Package pidf writes and reads the presence documents calsync publishes
// over SIP: PIDF (RFC 3863) with one tuple for the basic status and a
// note, and the RFC 4479 person element carrying RPID activities
// (RFC 4480) and the same note. The writer is the connector's; the reader
// serves the test watcher and the demo, which check what a server relays.
package pidf

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// ContentType is the media type of a PIDF document.
const ContentType = "application/pidf+xml"

// Namespaces of the document.
const (
	NSPIDF = "urn:ietf:params:xml:ns:pidf"
	NSDM   = "urn:ietf:params:xml:ns:pidf:data-model"
	NSRPID = "urn:ietf:params:xml:ns:pidf:rpid"
)

// Document is the presence calsync publishes for one presentity.
type Document struct {
	// Entity is the presentity's URI (sip:alice@example.com).
	Entity string
	// Open is the tuple's basic status: true "open", false "closed".
	Open bool
	// Activities are RPID activity tokens (busy, meeting, vacation …),
	// written in this order; none for plain availability.
	Activities []string
	// Note is the status text, written in the tuple and the person.
	Note string
	// TupleID names the tuple and the person; stable across publications
	// of one presentity, so a server that keeps several documents can tell
	// them apart.
	TupleID string
}

// Marshal writes d as a PIDF document.
func (d Document) Marshal() []byte {
	id := d.TupleID
	if id == "" {
		id = "calsync"
	}
	basic := "closed"
	if d.Open {
		basic = "open"
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<presence xmlns=%q xmlns:dm=%q xmlns:rpid=%q entity="%s">`+"\n", NSPIDF, NSDM, NSRPID, esc(d.Entity))
	fmt.Fprintf(&b, `  <tuple id="%s"><status><basic>%s</basic></status>`, esc("t-"+id), basic)
	if d.Note != "" {
		fmt.Fprintf(&b, `<note>%s</note>`, esc(d.Note))
	}
	b.WriteString("</tuple>\n")
	fmt.Fprintf(&b, `  <dm:person id="%s">`, esc("p-"+id))
	if len(d.Activities) > 0 {
		b.WriteString("<rpid:activities>")
		for _, a := range d.Activities {
			fmt.Fprintf(&b, "<rpid:%s/>", a)
		}
		b.WriteString("</rpid:activities>")
	}
	if d.Note != "" {
		fmt.Fprintf(&b, `<dm:note>%s</dm:note>`, esc(d.Note))
	}
	b.WriteString("</dm:person>\n</presence>\n")
	return b.Bytes()
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Parsed is what a received PIDF document says. A server that aggregates
// several publications of one presentity relays all their tuples and
// persons, so Tuples and Persons count them.
type Parsed struct {
	Entity     string
	Basic      string   // basic status of the first tuple: open or closed
	Activities []string // RPID activities of the first person
	Note       string   // the first person's note, else the first tuple's
	Tuples     int
	Persons    int
}

type xmlPresence struct {
	XMLName xml.Name    `xml:"urn:ietf:params:xml:ns:pidf presence"`
	Entity  string      `xml:"entity,attr"`
	Tuples  []xmlTuple  `xml:"urn:ietf:params:xml:ns:pidf tuple"`
	Persons []xmlPerson `xml:"urn:ietf:params:xml:ns:pidf:data-model person"`
}

type xmlTuple struct {
	Basic string   `xml:"urn:ietf:params:xml:ns:pidf status>basic"`
	Notes []string `xml:"urn:ietf:params:xml:ns:pidf note"`
}

type xmlPerson struct {
	Activities *struct {
		Any []struct{ XMLName xml.Name } `xml:",any"`
	} `xml:"urn:ietf:params:xml:ns:pidf:rpid activities"`
	Notes []string `xml:"urn:ietf:params:xml:ns:pidf:data-model note"`
}

// Parse reads a PIDF document.
func Parse(body []byte) (Parsed, error) {
	var x xmlPresence
	if err := xml.Unmarshal(body, &x); err != nil {
		return Parsed{}, fmt.Errorf("pidf: %w", err)
	}
	p := Parsed{Entity: x.Entity, Tuples: len(x.Tuples), Persons: len(x.Persons)}
	if len(x.Tuples) > 0 {
		p.Basic = strings.TrimSpace(x.Tuples[0].Basic)
		if len(x.Tuples[0].Notes) > 0 {
			p.Note = x.Tuples[0].Notes[0]
		}
	}
	if len(x.Persons) > 0 {
		if a := x.Persons[0].Activities; a != nil {
			for _, e := range a.Any {
				p.Activities = append(p.Activities, e.XMLName.Local)
			}
		}
		if len(x.Persons[0].Notes) > 0 {
			p.Note = x.Persons[0].Notes[0]
		}
	}
	return p, nil
}

// activities are the activity tokens RFC 4480 §3.2 defines.
var activities = []string{"appointment", "away", "breakfast", "busy", "dinner", "holiday", "in-transit",
	"looking-for-work", "meal", "meeting", "on-the-phone", "other", "performance", "permanent-absence",
	"playing", "presentation", "shopping", "sleeping", "spectator", "steering", "travel", "tv", "unknown",
	"vacation", "working", "worship"}

// Activities returns the RFC 4480 activity tokens, sorted.
func Activities() []string { return append([]string(nil), activities...) }

// CheckActivity returns an error naming the valid tokens when a is not an
// RFC 4480 activity. Marshal writes activities as element names, so only
// these may reach it.
func CheckActivity(a string) error {
	for _, v := range activities {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not an RPID activity (RFC 4480); use one of %s", a, strings.Join(activities, ", "))
}
