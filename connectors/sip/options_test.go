package sip

import (
	"strings"
	"testing"

	"github.com/calsync/calsync/connectors"
)

func TestParseServer(t *testing.T) {
	for in, want := range map[string]server{
		"sip:pbx.example.com":               {dest: "pbx.example.com:5060", transport: "UDP"},
		"sip:10.0.0.5:5070;transport=tcp":   {dest: "10.0.0.5:5070", transport: "TCP"},
		"sip:pbx.example.com;transport=tls": {dest: "pbx.example.com:5061", transport: "TLS"},
		"sips:pbx.example.com":              {dest: "pbx.example.com:5061", transport: "TLS"},
		"sips:pbx.example.com:6000":         {dest: "pbx.example.com:6000", transport: "TLS"},
	} {
		got, err := parseServer(in)
		if err != nil || got != want {
			t.Errorf("parseServer(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"http://pbx":             "scheme",
		"sip:pbx;transport=sctp": "transport",
		"pbx.example.com:5060":   "",
	} {
		if _, err := parseServer(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseServer(%q): error %v, want one mentioning %q", in, err, msg)
		}
	}
}

func TestPresentityTemplate(t *testing.T) {
	p := presentityTemplate{template: DefaultPresentity, domain: "pbx.example.com"}
	if got, err := p.uri("Alice.Smith@Example.com"); err != nil || got != "sip:alice.smith@pbx.example.com" {
		t.Fatalf("default: %q, %v", got, err)
	}
	p.template = "sip:{local}.{smtp_domain}@{domain}"
	if got, _ := p.uri("bob@corp.example"); got != "sip:bob.corp.example@pbx.example.com" {
		t.Fatalf("template: %q", got)
	}
	if _, err := p.uri("no-at-sign"); err == nil || !strings.Contains(err.Error(), "not an SMTP address") {
		t.Fatalf("bad user: %v", err)
	}
	if err := CheckTemplate("sip:fixed@example.com", "example.com"); err == nil || !strings.Contains(err.Error(), "same presentity") {
		t.Fatalf("fixed template: %v", err)
	}
	if err := CheckTemplate("tel:{local}", "example.com"); err == nil || !strings.Contains(err.Error(), "not a sip: or sips: URI") {
		t.Fatalf("tel template: %v", err)
	}
}

func TestMapping(t *testing.T) {
	m := DefaultMapping().With(Mapping{"tentative": {Activities: []string{"busy"}, Note: "Maybe busy"}})
	doc, ok := m.document("sip:a@x", connectors.State{Availability: "tentative", StatusText: "Tentative: X"})
	if !ok || doc.Note != "Maybe busy" || len(doc.Activities) != 1 || doc.Activities[0] != "busy" {
		t.Fatalf("overridden tentative: %+v", doc)
	}
	doc, _ = m.document("sip:a@x", connectors.State{Availability: "busy", StatusText: "In a meeting"})
	if doc.Note != "In a meeting" || !doc.Open {
		t.Fatalf("busy takes the status text: %+v", doc)
	}
	if _, ok := m.document("sip:a@x", connectors.State{Availability: "unknown"}); ok {
		t.Fatal("unknown must withdraw")
	}
	doc, _ = m.document("sip:a@x", connectors.State{Availability: "something_new", StatusText: "x"})
	if !doc.Open || len(doc.Activities) != 0 || doc.Note != "x" {
		t.Fatalf("unmapped state: %+v", doc)
	}
	if err := CheckActivity("lunch"); err == nil || !strings.Contains(err.Error(), "meeting") {
		t.Fatalf("lunch: %v", err)
	}
	for _, l := range DefaultMapping() {
		for _, a := range l.Activities {
			if err := CheckActivity(a); err != nil {
				t.Fatalf("default mapping: %v", err)
			}
		}
	}
}
