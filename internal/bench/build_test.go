package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/buildinfo"
)

// TestHeaderNamesTheBinaryAndItsCgoSetting: the line above the bench's
// tables says which build is measured, so that a cgo build's peak is not
// read as the release build's.
func TestHeaderNamesTheBinaryAndItsCgoSetting(t *testing.T) {
	h := Header()
	if !strings.Contains(h, buildinfo.String()) || !strings.Contains(h, "CGO_ENABLED="+buildinfo.Cgo()+":") {
		t.Errorf("Header() = %q, want the version line and the note on CGO_ENABLED=%s", h, buildinfo.Cgo())
	}
	if !strings.Contains(CgoNote("1"), "build with CGO_ENABLED=0") || !strings.Contains(CgoNote("0"), "release build") {
		t.Errorf("CgoNote: 1 → %q, 0 → %q; want the cgo build told apart from the release build", CgoNote("1"), CgoNote("0"))
	}
}

// TestPeakRowNamesTheCgoSetting: the peak RSS cell carries the measured
// binary's setting next to the figure.
func TestPeakRowNamesTheCgoSetting(t *testing.T) {
	var out bytes.Buffer
	WriteTable(&out, []Result{{Mailboxes: 1000, PeakRSS: 36 << 20, Cgo: "1"}, {Mailboxes: 1000, PeakRSS: 35 << 20, Cgo: "0"}})
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "| peak RSS during the load") {
			if !strings.Contains(line, "| 36.0 MiB / 36.9 KiB (CGO_ENABLED=1) | 35.0 MiB / 35.8 KiB (CGO_ENABLED=0) |") {
				t.Errorf("peak row = %q, want each figure with its binary's CGO_ENABLED", line)
			}
			return
		}
	}
	t.Fatalf("no peak row in\n%s", out.String())
}
