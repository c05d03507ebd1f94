package ewswire_test

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

// compareAvailability is compareFast for the GetUserAvailability token
// decoder.
func compareAvailability(t *testing.T, name string, data []byte, lim ewswire.Limits) bool {
	t.Helper()
	return compareFast[ewswire.GetUserAvailabilityResponse](t, name, data, lim, ewswire.DecodeAvailabilityFast)
}

// TestFastAvailabilitySamples: every recorded sample decodes the same with
// both decoders, and the recorded GetUserAvailability answer (with
// suggestions, which are skipped) takes the fast path.
func TestFastAvailabilitySamples(t *testing.T) {
	checkSamples(t, compareAvailability, "getuseravailability-response.xml")
}

// availabilityTexts hold characters to escape, non-ASCII text and white
// space around values.
var availabilityTexts = []string{"", "FreeBusy", "Busy", `a&b<c>"d'e`, "Ünïcødé ✓ 𝄞", " Monday Tuesday ", "02:00:00", "line\nbreak"}

// encodeAvailability writes a GetUserAvailability answer of 1–12
// mailboxes as calsync's encoder (and so the simulator) does: errors,
// views with and without events, merged free/busy and working hours.
func encodeAvailability(tb testing.TB, rng *rand.Rand) []byte {
	pick := func() string { return availabilityTexts[rng.Intn(len(availabilityTexts))] }
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	zoneTime := func() ewswire.SerializableTimeZoneTime {
		return ewswire.SerializableTimeZoneTime{Bias: -60 * rng.Intn(2), Time: pick(), DayOrder: rng.Intn(6), Month: rng.Intn(13), DayOfWeek: pick()}
	}
	r := &ewswire.GetUserAvailabilityResponse{}
	for range 1 + rng.Intn(12) {
		var fb ewswire.FreeBusyResponse
		ok := ewswire.Success()
		fb.ResponseMessage = &ok
		if rng.Intn(5) == 0 {
			fb.ResponseMessage = &ewswire.ResponseMessage{ResponseClass: "Error", ResponseCode: "ErrorMailRecipientNotFound", MessageText: pick()}
			r.FreeBusyResponseArray.FreeBusyResponse = append(r.FreeBusyResponseArray.FreeBusyResponse, fb)
			continue
		}
		v := &ewswire.FreeBusyView{FreeBusyViewType: pick()}
		if rng.Intn(3) == 0 {
			v.MergedFreeBusy = strings.Repeat("0210", 1+rng.Intn(12))
		}
		if n := rng.Intn(5); n > 0 {
			v.CalendarEventArray = &ewswire.CalendarEventArray{}
			for range n {
				start := day.Add(time.Duration(rng.Intn(96)) * 15 * time.Minute)
				v.CalendarEventArray.CalendarEvent = append(v.CalendarEventArray.CalendarEvent, ewswire.CalendarEvent{
					StartTime: ewswire.LocalDateTime{Time: start}, EndTime: ewswire.LocalDateTime{Time: start.Add(time.Duration(rng.Intn(8)) * 15 * time.Minute)},
					BusyType: []string{"Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData"}[rng.Intn(6)]})
			}
		}
		if rng.Intn(4) != 0 {
			wh := &ewswire.WorkingHours{TimeZone: ewswire.SerializableTimeZone{Bias: 60 * (rng.Intn(25) - 12), StandardTime: zoneTime(), DaylightTime: zoneTime()}}
			for range rng.Intn(3) {
				wh.WorkingPeriodArray.WorkingPeriod = append(wh.WorkingPeriodArray.WorkingPeriod, ewswire.WorkingPeriod{DayOfWeek: pick(), StartTimeInMinutes: rng.Intn(720), EndTimeInMinutes: 720 + rng.Intn(720)})
			}
			v.WorkingHours = wh
		}
		fb.FreeBusyView = v
		r.FreeBusyResponseArray.FreeBusyResponse = append(r.FreeBusyResponseArray.FreeBusyResponse, fb)
	}
	return marshalGenerated(tb, rng, r)
}

// TestFastAvailabilityGenerated compares both decoders on generated
// GetUserAvailability answers written in every rewrite form.
func TestFastAvailabilityGenerated(t *testing.T) {
	checkGenerated(t, "GetUserAvailability", encodeAvailability, compareAvailability)
}

// TestFastAvailabilityDeclines: shapes left to encoding/xml and hostile
// input end in an error of the token decoder, never a panic or a wrong
// answer; elements of other namespaces and unknown ones are skipped.
func TestFastAvailabilityDeclines(t *testing.T) {
	good := encodeAvailability(t, rand.New(rand.NewSource(5)))
	if !compareAvailability(t, "good", good, ewswire.DefaultLimits) {
		t.Fatalf("the good answer is declined:\n%s", good)
	}
	for _, want := range []string{"<StartTime>", "<Bias>", "<WorkingPeriod>", "<FreeBusyView>"} {
		if !bytes.Contains(good, []byte(want)) {
			t.Fatalf("the good answer has no %s to change:\n%s", want, good)
		}
	}
	cases := map[string][]byte{
		"truncated":       good[:len(good)/2],
		"fault":           []byte(`<s:Envelope xmlns:s="` + ewswire.NSSOAP11 + `"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>`),
		"repeated array":  bytes.Replace(good, []byte("</FreeBusyResponseArray>"), []byte("</FreeBusyResponseArray><FreeBusyResponseArray></FreeBusyResponseArray>"), 1),
		"repeated view":   bytes.Replace(good, []byte("<FreeBusyView>"), []byte("<FreeBusyView></FreeBusyView><FreeBusyView>"), 1),
		"repeated bias":   bytes.Replace(good, []byte("<Bias>"), []byte("<Bias>5</Bias><Bias>"), 1),
		"details":         bytes.Replace(good, []byte("<StartTime>"), []byte("<CalendarEventDetails><Subject>s</Subject></CalendarEventDetails><StartTime>"), 1),
		"bad time":        bytes.Replace(good, []byte("<StartTime>"), []byte("<StartTime>yesterday"), 1),
		"bad integer":     bytes.Replace(good, []byte("<Bias>"), []byte("<Bias>x"), 1),
		"huge integer":    bytes.Replace(good, []byte("<Bias>"), []byte("<Bias>1234567890123456789012"), 1),
		"link key":        bytes.Replace(good, []byte("<ResponseCode>"), []byte("<DescriptiveLinkKey>1</DescriptiveLinkKey><ResponseCode>"), 1),
		"other body":      bytes.ReplaceAll(good, []byte("GetUserAvailabilityResponse"), []byte("GetUserOofSettingsResponse")),
		"doctype":         append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), good...),
		"bad utf8":        bytes.Replace(good, []byte("<WorkingPeriod>"), []byte("<WorkingPeriod>\xff"), 1),
		"NUL reference":   bytes.Replace(good, []byte("<WorkingPeriod>"), []byte("<WorkingPeriod>&#0;"), 1),
		"deep":            bytes.Replace(good, []byte("<WorkingPeriod>"), []byte("<WorkingPeriod>"+strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100)), 1),
		"nested in a day": bytes.Replace(good, []byte("<StartTime>"), []byte("<StartTime><b>x</b>"), 1),
	}
	for name, data := range cases {
		if bytes.Equal(data, good) {
			t.Fatalf("%s: the case does not change the answer", name)
		}
		if _, err := ewswire.DecodeAvailabilityFast(data, ewswire.DefaultLimits); err == nil && name != "nested in a day" {
			t.Errorf("%s: accepted", name)
		}
		compareAvailability(t, name, data, ewswire.DefaultLimits)
	}
	skipped := bytes.Replace(good, []byte("<FreeBusyView>"), []byte(`<Note>n</Note><FreeBusyView><t:Other xmlns:t="`+ewswire.NSTypes+`">x</t:Other><m:FreeBusyViewType xmlns:m="`+ewswire.NSMessages+`">other</m:FreeBusyViewType>`), 1)
	if !compareAvailability(t, "skipped elements", skipped, ewswire.DefaultLimits) {
		t.Errorf("declined an answer with elements to skip:\n%s", skipped)
	}
}
