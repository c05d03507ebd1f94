package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestVendorGuideSnippetIsExplainedAndCorrected(t *testing.T) {
	data, err := os.ReadFile("testdata/vendor_guide_malformed.xml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadVendorXML(data, "CalendarSyncExchange.config.xml")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("LoadVendorXML = %v, want *Error", err)
	}
	want := []string{
		`CalendarSyncExchange.config.xml:9:1: found </events>, expected </exchange> (<exchange> opened on line 5); <events> was already closed on line 8, so remove this extra </events>`,
		`CalendarSyncExchange.config.xml:10:1: found </ecchange>, expected </exchange> (<exchange> opened on line 5) (</ecchange> looks like a misspelling of </exchange>)`,
	}
	checkProblems(t, ce.Problems, want)
	wantXML := `<?xml version="1.0" encoding="utf-8"?>
<configuration>

<calendar_sync>
<exchange>
<events>
<advise Object="EwsStream"></advise>
</events>
</exchange>
</calendar_sync>
</configuration>
`
	if string(ce.CorrectedVendorXML) != wantXML {
		t.Errorf("corrected file =\n%s\nwant\n%s", ce.CorrectedVendorXML, wantXML)
	}
	// The correction is itself a valid vendor file selecting streaming.
	v, err := LoadVendorXML(ce.CorrectedVendorXML, "corrected.xml")
	if err != nil || v.Mode != Streaming {
		t.Errorf("corrected file: %+v, %v", v, err)
	}
}

func checkProblems(t *testing.T, problems []Problem, want []string) {
	t.Helper()
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func vendorXML(advise string) string {
	return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <calendar_sync>\n    <exchange>\n      <events>\n        " +
		advise + "\n      </events>\n    </exchange>\n  </calendar_sync>\n</configuration>\n"
}

func TestVendorModes(t *testing.T) {
	tests := []struct {
		advise string
		want   NotificationMode
	}{
		{`<advise Object="EwsStream"></advise>`, Streaming},
		{`<advise Object="EWSStream"/>`, Streaming},
		{`<advise Object="ewsstream"/>`, Streaming},
		{`<advise object=' EwsStream '/>`, Streaming},
		{`<advise Object="EwsPull"/>`, Pull},
		{`<advise Object="EWSPull"></advise>`, Pull},
		{`<advise Object="EWSPULL"/>`, Pull},
	}
	for _, tc := range tests {
		v, err := LoadVendorXML([]byte(vendorXML(tc.advise)), "v.xml")
		if err != nil {
			t.Errorf("%s: %v", tc.advise, err)
			continue
		}
		if v.Mode != tc.want || v.Line != 6 {
			t.Errorf("%s: mode %q line %d, want %q line 6", tc.advise, v.Mode, v.Line, tc.want)
		}
	}
}

func TestVendorErrors(t *testing.T) {
	tests := []struct {
		name, xml string
		want      []string
		corrected string // "" means no correction offered
	}{
		{"guide's inconsistent spelling", vendorXML(`<advise Object="EWStream"></advise>`), []string{
			`v.xml:6:9: Object="EWStream" is not valid; expected "EwsStream" (streaming) or "EwsPull" (pull), in any letter case (did you mean "EwsStream"?)`,
		}, vendorXML(`<advise Object="EwsStream"></advise>`)},
		{"unknown value", vendorXML(`<advise Object="Push"/>`), []string{
			`v.xml:6:9: Object="Push" is not valid; expected "EwsStream" (streaming) or "EwsPull" (pull), in any letter case`,
		}, ""},
		{"no Object attribute", vendorXML(`<advise Mode="EwsPull"/>`), []string{
			`v.xml:6:9: <advise> has no Object attribute; expected Object="EwsStream" (streaming) or Object="EwsPull" (pull)`,
		}, ""},
		{"no advise element", vendorXML(`<notify Object="EwsPull"/>`), []string{
			`v.xml:1: no <advise> element at configuration/calendar_sync/exchange/events/advise; expected <advise Object="EwsStream"/> (streaming) or <advise Object="EwsPull"/> (pull) there`,
		}, ""},
		{"two advise elements", vendorXML(`<advise Object="EwsPull"/><advise Object="EwsStream"/>`), []string{
			`v.xml:6:35: a second <advise> element (the first is on line 6); keep only one`,
		}, ""},
		{"wrong root", "<settings>\n<calendar_sync/>\n</settings>\n", []string{
			`v.xml:1: no <advise> element at configuration/calendar_sync/exchange/events/advise; expected <advise Object="EwsStream"/> (streaming) or <advise Object="EwsPull"/> (pull) there`,
			`v.xml:1:1: the top-level element is <settings>; expected <configuration>`,
		}, ""},
		{"missing closing tag", "<configuration>\n<calendar_sync>\n<exchange>\n<events>\n<advise Object=\"EwsPull\"/>\n</exchange>\n</calendar_sync>\n</configuration>\n", []string{
			`v.xml:6:1: found </exchange>, expected </events> (<events> opened on line 4); add </events> before it`,
		}, "<configuration>\n<calendar_sync>\n<exchange>\n<events>\n<advise Object=\"EwsPull\"/>\n</events>\n</exchange>\n</calendar_sync>\n</configuration>\n"},
		{"truncated file", "<configuration>\n  <calendar_sync>\n    <exchange>\n      <events>\n        <advise Object=\"EwsPull\"/>\n      </events>", []string{
			`v.xml:6: the file ends before </exchange> (<exchange> opened on line 3); add </exchange></calendar_sync></configuration>`,
		}, "<configuration>\n  <calendar_sync>\n    <exchange>\n      <events>\n        <advise Object=\"EwsPull\"/>\n      </events>\n</exchange>\n</calendar_sync>\n</configuration>\n"},
		{"closing tag after the end", vendorXML(`<advise Object="EwsPull"/>`) + "</configuration>\n", []string{
			`v.xml:11:1: found </configuration> after the end of the document; no element is open, so remove it`,
		}, vendorXML(`<advise Object="EwsPull"/>`)},
		{"not well-formed", vendorXML(`<advise Object=EwsPull/>`), []string{
			`v.xml:6: not well-formed XML: unquoted or missing attribute value in element`,
		}, ""},
		{"empty", "  \n", []string{
			`v.xml: the file is empty; expected <configuration><calendar_sync><exchange><events><advise Object="EwsStream"/>…`,
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := LoadVendorXML([]byte(tc.xml), "v.xml")
			var ce *Error
			if v != nil || !errors.As(err, &ce) {
				t.Fatalf("LoadVendorXML = %+v, %v; want *Error", v, err)
			}
			checkProblems(t, ce.Problems, tc.want)
			if string(ce.CorrectedVendorXML) != tc.corrected {
				t.Errorf("corrected =\n%q\nwant\n%q", ce.CorrectedVendorXML, tc.corrected)
			}
		})
	}
}

func TestVendorUTF16FromNotepad(t *testing.T) {
	text := strings.Replace(vendorXML(`<advise Object="EwsPull"/>`), "utf-8", "utf-16", 1)
	u := utf16.Encode([]rune(text))
	data := []byte{0xFF, 0xFE}
	for _, c := range u {
		data = append(data, byte(c), byte(c>>8))
	}
	v, err := LoadVendorXML(data, "v.xml")
	if err != nil || v.Mode != Pull {
		t.Fatalf("LoadVendorXML(UTF-16) = %+v, %v", v, err)
	}
}

func TestLoadFileOnVendorXML(t *testing.T) {
	if problems := ValidateFile("testdata/vendor_pull.xml"); len(problems) != 0 {
		t.Errorf("ValidateFile(vendor_pull.xml) = %v, want none", problems)
	}
	_, err := LoadFile("testdata/vendor_pull.xml")
	want := "testdata/vendor_pull.xml:6: this vendor file selects only the notification mode (pull); calsync also needs the Exchange URL, the service account and the users: write a calsync.yaml and reference this file from it with exchange.vendor_config"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadFile(vendor xml) = %v, want %q", err, want)
	}
	problems := ValidateFile("testdata/vendor_guide_malformed.xml")
	if len(problems) != 2 || problems[0].Line != 9 || problems[1].Line != 10 {
		t.Errorf("ValidateFile(guide snippet) = %v", problems)
	}
}

func TestValidateReportIncludesCorrection(t *testing.T) {
	v := Validate("testdata/vendor_guide_malformed.xml")
	if v.OK() || !strings.Contains(v.CorrectedVendorXML, "</exchange>\n</calendar_sync>") {
		t.Fatalf("Validate = %+v", v)
	}
	s := v.String()
	for _, want := range []string{"found </ecchange>, expected </exchange>", "2 errors, 0 warnings\nthe corrected vendor file would be:\n<?xml"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if v := Validate("testdata/vendor_pull.xml"); !v.OK() || v.String() != "ok: no problems found\n" {
		t.Errorf("Validate(valid vendor file) = %q", v.String())
	}
	missing := Validate("testdata/no-such-file.yaml")
	if missing.OK() || !strings.Contains(missing.String(), "testdata/no-such-file.yaml: cannot open the config file: no such file or directory") {
		t.Errorf("Validate(missing) = %q", missing.String())
	}
}
