package ewswire_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

// compareSubscribe decodes data with the Subscribe token decoder and with
// encoding/xml. Whenever the token decoder answers, encoding/xml must give
// the same envelope, value for value; it reports whether the token decoder
// answered.
func compareSubscribe(t *testing.T, name string, data []byte, lim ewswire.Limits) bool {
	t.Helper()
	fast, ferr := ewswire.DecodeSubscribeFast(data, lim)
	if ferr != nil {
		return false
	}
	var resp ewswire.SubscribeResponse
	std, serr := ewswire.DecodeEnvelope(bytes.NewReader(data), lim, ewswire.Expect(&resp))
	if serr != nil {
		t.Fatalf("%s: the Subscribe token decoder accepted what encoding/xml refuses (%v)\n%.2000s", name, serr, data)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("%s: results differ:\nfast %+v %+v\nstd  %+v %+v", name, fast, fast.Body, std, std.Body)
	}
	return true
}

// TestFastSubscribeSamples: every recorded sample decodes the same with
// both decoders, and the recorded Subscribe answers take the fast path.
func TestFastSubscribeSamples(t *testing.T) {
	checkSamples(t, compareSubscribe, "subscribe-pull-response.xml", "subscribe-streaming-response.xml")
}

// subscribeTexts hold characters to escape and non-ASCII text.
var subscribeTexts = []string{"", "JgBkAG0AZQBzAHMAYQBnAGUAaQBkAA==", `a&b<c>"d'e`, "Ünïcødé ✓ 𝄞", " spaced \t tab ", "line\nbreak"}

// encodeSubscribe writes a Subscribe answer as calsync's encoder does.
func encodeSubscribe(tb testing.TB, rng *rand.Rand) []byte {
	pick := func() string { return subscribeTexts[rng.Intn(len(subscribeTexts))] }
	m := ewswire.SubscribeResponseMessage{ResponseMessage: ewswire.Success(), SubscriptionId: pick(), Watermark: pick()}
	switch rng.Intn(4) {
	case 0:
		m.ResponseMessage = ewswire.ResponseMessage{ResponseClass: "Error", ResponseCode: "ErrorInvalidSubscription", MessageText: pick()}
	case 1:
		m.ResponseMessage.ResponseClass = "Warning"
	}
	r := &ewswire.SubscribeResponse{}
	r.ResponseMessages.Messages = []ewswire.SubscribeResponseMessage{m}
	var h *ewswire.Header
	if rng.Intn(2) == 0 {
		h = &ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 1, MajorBuildNumber: 2507, MinorBuildNumber: rng.Intn(50), Version: "V2017_07_11"}}
	}
	b, err := ewswire.Marshal(h, r)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestFastSubscribeGenerated compares both decoders on generated Subscribe
// answers (success, warning, error; ids and texts with characters to
// escape; with and without header), written in every rewrite form.
func TestFastSubscribeGenerated(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	for i := 0; i < 60; i++ {
		data := encodeSubscribe(t, rng)
		for v, form := range rewriteForms {
			name := fmt.Sprintf("response %d form %d", i, v)
			out := form(t, data)
			if !compareSubscribe(t, name, out, ewswire.DefaultLimits) {
				t.Fatalf("%s: the token decoder declined a Subscribe answer\n%s", name, out)
			}
		}
	}
}

// TestFastSubscribeDeclines: shapes left to encoding/xml and hostile input
// end in an error of the token decoder, never a panic or a wrong answer.
func TestFastSubscribeDeclines(t *testing.T) {
	good := encodeSubscribe(t, rand.New(rand.NewSource(3)))
	if !compareSubscribe(t, "good", good, ewswire.DefaultLimits) {
		t.Fatalf("the good answer is declined:\n%s", good)
	}
	msgStart := []byte("<SubscribeResponseMessage")
	cases := map[string][]byte{
		"truncated":      good[:len(good)/2],
		"fault":          []byte(`<s:Envelope xmlns:s="` + ewswire.NSSOAP11 + `"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>`),
		"two messages":   bytes.Replace(good, []byte("</ResponseMessages>"), []byte(`<SubscribeResponseMessage ResponseClass="Success"/></ResponseMessages>`), 1),
		"no message":     bytes.Replace(good, msgStart, []byte("<Other"), 1),
		"repeated id":    bytes.Replace(good, []byte("<SubscriptionId>"), []byte("<SubscriptionId>x</SubscriptionId><SubscriptionId>"), 1),
		"link key":       bytes.Replace(good, []byte("<ResponseCode>"), []byte("<DescriptiveLinkKey>1</DescriptiveLinkKey><ResponseCode>"), 1),
		"other body":     bytes.Replace(bytes.Replace(good, []byte("<SubscribeResponse "), []byte("<UnsubscribeResponse "), 1), []byte("</SubscribeResponse>"), []byte("</UnsubscribeResponse>"), 1),
		"unknown header": bytes.Replace(good, []byte("<s:Body>"), []byte(`<s:Header><X xmlns="urn:x"/></s:Header><s:Body>`), 1),
		"doctype":        append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), good...),
		"bad utf8":       bytes.Replace(good, []byte("<SubscriptionId>"), []byte("<SubscriptionId>\xff"), 1),
		"NUL reference":  bytes.Replace(good, []byte("<SubscriptionId>"), []byte("<SubscriptionId>&#0;"), 1),
		"deep":           bytes.Replace(good, []byte("<SubscriptionId>"), []byte("<SubscriptionId>"+strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100)), 1),
	}
	for name, data := range cases {
		if bytes.Equal(data, good) {
			t.Fatalf("%s: the case does not change the answer", name)
		}
		if _, err := ewswire.DecodeSubscribeFast(data, ewswire.DefaultLimits); err == nil {
			t.Errorf("%s: accepted", name)
		}
		compareSubscribe(t, name, data, ewswire.DefaultLimits)
	}
	// Elements of other namespaces and unknown ones are skipped, as
	// encoding/xml skips them.
	skipped := bytes.Replace(good, []byte("<SubscriptionId>"), []byte(`<Note>n</Note><t:SubscriptionId xmlns:t="`+ewswire.NSTypes+`">other</t:SubscriptionId><SubscriptionId>`), 1)
	if !compareSubscribe(t, "skipped elements", skipped, ewswire.DefaultLimits) {
		t.Errorf("declined an answer with elements to skip:\n%s", skipped)
	}
}

// seedSubscribes adds generated Subscribe answers in every rewrite form to
// a fuzz corpus.
func seedSubscribes(f *testing.F) {
	rng := rand.New(rand.NewSource(9))
	for i := 0; i < 3; i++ {
		data := encodeSubscribe(f, rng)
		for _, form := range rewriteForms {
			f.Add(form(f, data))
		}
	}
}
