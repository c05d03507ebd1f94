package ewsschema

import (
	"fmt"
	"strings"
	"testing"
)

// recordingTB runs cleanups on demand and records errors instead of
// failing the real test.
type recordingTB struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}

const validEnvelope = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><s:Body><m:GetServerTimeZones/></s:Body></s:Envelope>`

// A batch validates everything added in one run at cleanup and names the
// envelope that fails.
func TestBatch(t *testing.T) {
	r := &recordingTB{TB: t}
	b := NewBatch(r)
	b.Add("good one", []byte(validEnvelope))
	b.Add("bad one", []byte(strings.Replace(validEnvelope, "m:GetServerTimeZones", "m:NoSuchOperation", 1)))
	if len(r.errors) != 0 || len(r.cleanups) == 0 {
		t.Fatalf("before cleanup: errors %v, %d cleanups; want none and the check registered", r.errors, len(r.cleanups))
	}
	r.cleanups[len(r.cleanups)-1]()
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "bad_one") || strings.Contains(r.errors[0], "good_one") {
		t.Errorf("errors = %q, want one report naming only the bad envelope", r.errors)
	}
}
