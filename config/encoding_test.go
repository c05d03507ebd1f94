package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// utf16File encodes text as UTF-16 with a byte-order mark, as Notepad's
// "Unicode" encodings save it.
func utf16File(text string, littleEndian bool) []byte {
	out := []byte{0xFE, 0xFF}
	if littleEndian {
		out = []byte{0xFF, 0xFE}
	}
	for _, u := range utf16.Encode([]rune(text)) {
		if littleEndian {
			out = append(out, byte(u), byte(u>>8))
		} else {
			out = append(out, byte(u>>8), byte(u))
		}
	}
	return out
}

func TestUTF16YAMLIsYAML(t *testing.T) {
	setTestSecrets(t)
	yaml := "exchange:\n  ews_url: https://x.example.com/EWS/Exchange.asmx\n  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}\nusers: {static: [ä@example.com]}\n"
	for _, c := range []struct{ le, bom bool }{{true, true}, {false, true}, {true, false}, {false, false}} {
		le := c.le
		data := utf16File(yaml, le)
		if !c.bom {
			// Some editors write UTF-16 without a byte-order mark; YAML
			// 1.2 (5.2) tells the encoding by the NUL bytes of the first
			// character.
			data = data[2:]
		}
		path := filepath.Join(t.TempDir(), "calsync.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadFile(path)
		if err != nil {
			t.Fatalf("UTF-16 (little endian %v, byte-order mark %v) YAML: %v", le, c.bom, err)
		}
		if cfg.Exchange.EWSURL != "https://x.example.com/EWS/Exchange.asmx" || cfg.Users.Static[0] != "ä@example.com" {
			t.Errorf("UTF-16 YAML read as %+v", cfg)
		}
		if v := Validate(path); !v.OK() {
			t.Errorf("Validate(UTF-16 YAML) = %v", v)
		}
	}
}

func TestVendorDuplicateAttributeIsAnError(t *testing.T) {
	for _, tc := range []struct{ name, xml, want string }{
		{"same attribute twice", "<configuration>\n  <calendar_sync>\n    <exchange>\n      <events>\n        <advise Object=\"EwsPull\" Object=\"EwsStream\"/>\n      </events>\n    </exchange>\n  </calendar_sync>\n</configuration>\n",
			`v.xml:5:34: not well-formed XML: the attribute Object is given twice in <advise>; keep one`},
		{"Object in two letter cases", "<configuration><calendar_sync><exchange><events>\n<advise Object=\"EwsPull\"\n   object=\"EwsStream\"/>\n</events></exchange></calendar_sync></configuration>\n",
			`v.xml:3:4: not well-formed XML: the attribute object is given twice in <advise>; keep one`},
		{"elsewhere", "<configuration a=\"1\" a=\"2\"><calendar_sync><exchange><events><advise Object=\"EwsPull\"/></events></exchange></calendar_sync></configuration>",
			`v.xml:1:22: not well-formed XML: the attribute a is given twice in <configuration>; keep one`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadVendorXML([]byte(tc.xml), "v.xml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadVendorXML = %v, want %s", err, tc.want)
			}
		})
	}
}
