package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("exchange: {notifications: {mode: pull}}\nusers: {static: [a@b.c]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load(data, "testdata/fuzz.yaml")
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config without error")
			}
			return
		}
		var ce *Error
		if !errors.As(err, &ce) || !HasErrors(ce.Problems) {
			t.Fatalf("error %v is not an *Error with errors", err)
		}
		for _, p := range ce.Problems {
			if p.File == "" || p.Line < 0 || p.Column < 0 || p.Message == "" {
				t.Fatalf("incomplete problem %+v", p)
			}
		}
	})
}

func FuzzLoadVendorXML(f *testing.F) {
	for _, name := range []string{"testdata/vendor_guide_malformed.xml", "testdata/vendor_pull.xml"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("<configuration><calendar_sync><exchange><events><advise Object='x'/></events></ecchange>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := LoadVendorXML(data, "v.xml")
		if err == nil {
			if v == nil || (v.Mode != Streaming && v.Mode != Pull) {
				t.Fatalf("no error but config %+v", v)
			}
			return
		}
		var ce *Error
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("error %v is not an *Error with problems", err)
		}
		if ce.CorrectedVendorXML == nil {
			return
		}
		// A correction must repair the tag structure.
		_, err2 := LoadVendorXML(ce.CorrectedVendorXML, "v.xml")
		if errors.As(err2, &ce) {
			for _, p := range ce.Problems {
				if strings.Contains(p.Message, "found </") || strings.Contains(p.Message, "ends before") {
					t.Fatalf("corrected file still malformed: %s\ninput %q\ncorrected %q", p, data, ce.CorrectedVendorXML)
				}
			}
		}
	})
}
