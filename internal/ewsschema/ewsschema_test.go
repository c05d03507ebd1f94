package ewsschema

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
)

const (
	soapOpen  = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body>`
	soapClose = `</s:Body></s:Envelope>`
)

// invalidEnvelopes break the schema in the ways the tests rely on it to
// notice: an unknown element, enumeration values of an attribute and of
// element text, a missing required element, an unqualified element, two
// operations in one Body, and a failure on a later line of a larger file.
var invalidEnvelopes = []string{
	soapOpen + `<m:FindItem Traversal="Sideways"><m:ItemShape><t:BaseShape>Nope</t:BaseShape></m:ItemShape><m:Bogus/></m:FindItem>` + soapClose,
	soapOpen + `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape></m:GetItem>` + soapClose,
	soapOpen + `<GetServerTimeZones/>` + soapClose,
	soapOpen + `<m:GetServerTimeZones/><m:GetServerTimeZones/>` + soapClose,
	soapOpen + "\n<m:GetServerTimeZones\n  ReturnFullTimeZoneData=\"maybe\"/>\n" + soapClose,
}

func lxmlServer(t *testing.T) *server {
	t.Helper()
	validator, python := tools(t)
	s, err := shared(python, validator)
	if errors.Is(err, errNoLxml) {
		testenv.Missing(t, "python3-lxml", "apt-get install -y python3-lxml")
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An invalid envelope is rejected with a report that names the file, the
// envelope's element, the line and what is wrong; a valid one passes.
func TestCheckNamesTheFileAndTheElement(t *testing.T) {
	lxmlServer(t)
	if err := Check(t, "fine", []byte(validEnvelope)); err != nil {
		t.Fatalf("valid envelope rejected: %v", err)
	}
	err := Check(t, "Find items", []byte(invalidEnvelopes[0]))
	if err == nil {
		t.Fatal("invalid FindItem accepted")
	}
	for _, want := range []string{
		"FAIL  Find_items.xml#1 Body m:FindItem: Find_items.xml:1: element FindItem: Schemas validity error : Element '{http://schemas.microsoft.com/exchange/services/2006/messages}FindItem', attribute 'Traversal': [facet 'enumeration'] The value 'Sideways' is not an element of the set",
		"element BaseShape: Schemas validity error : Element '{http://schemas.microsoft.com/exchange/services/2006/types}BaseShape': [facet 'enumeration'] The value 'Nope'",
		"element Bogus: Schemas validity error : Element '{http://schemas.microsoft.com/exchange/services/2006/messages}Bogus': This element is not expected.",
		"summary: 0 OK, 1 FAIL, 0 SKIP",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("report lacks %q:\n%s", want, err)
		}
	}
}

// The long-lived validator is exactly as strict as the validator script
// with xmllint: over every sample message and the invalid envelopes above,
// both give the same report, word for word (one file, so the script
// compiles the schema only once).
func TestServerReportsWhatTheScriptReports(t *testing.T) {
	s := lxmlServer(t)
	samples, err := filepath.Glob(filepath.Join(testenv.ReferenceDir(t), "ews-samples", "*.xml"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no sample messages (%v)", err)
	}
	var all []byte
	for _, p := range samples {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(append(all, b...), '\n')
	}
	for _, e := range invalidEnvelopes {
		all = append(all, e+"\n"...)
	}
	files := []envelopeFile{{Label: "all.xml", Data: all}}
	_, fromServer, err := s.validate(files)
	if err != nil {
		t.Fatal(err)
	}
	validator, python := tools(t)
	_, fromScript := runScript(t, validator, python, files)
	fromScript = regexp.MustCompile(`\S*/all\.xml`).ReplaceAllString(fromScript, "all.xml")
	if fromServer != fromScript {
		t.Fatalf("reports differ\nserver:\n%s\nscript:\n%s", fromServer, fromScript)
	}
	fails := 0
	for _, line := range strings.Split(fromServer, "\n") {
		if strings.HasPrefix(line, "FAIL ") {
			fails++
		}
	}
	if fails != len(invalidEnvelopes)+1 { // and the one sample that is wrong on purpose
		t.Errorf("%d FAIL lines, want %d:\n%s", fails, len(invalidEnvelopes)+1, fromServer)
	}
}
