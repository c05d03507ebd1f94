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

// compareFast decodes data with a token decoder of one answer shape and
// with encoding/xml into a new R. Whenever the token decoder answers,
// encoding/xml must give the same envelope, value for value; it reports
// whether the token decoder answered.
func compareFast[R any](t *testing.T, name string, data []byte, lim ewswire.Limits, fast func([]byte, ewswire.Limits) (*ewswire.Envelope, error)) bool {
	t.Helper()
	got, ferr := fast(data, lim)
	if ferr != nil {
		return false
	}
	var resp R
	std, serr := ewswire.DecodeEnvelope(bytes.NewReader(data), lim, ewswire.Expect(&resp))
	if serr != nil {
		t.Fatalf("%s: the %T token decoder accepted what encoding/xml refuses (%v)\n%.2000s", name, resp, serr, data)
	}
	if !reflect.DeepEqual(got, std) {
		t.Fatalf("%s: results differ:\nfast %+v %+v\nstd  %+v %+v", name, got, got.Body, std, std.Body)
	}
	return true
}

// compareSubscribe is compareFast for the Subscribe token decoder.
func compareSubscribe(t *testing.T, name string, data []byte, lim ewswire.Limits) bool {
	t.Helper()
	return compareFast[ewswire.SubscribeResponse](t, name, data, lim, ewswire.DecodeSubscribeFast)
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
	return marshalGenerated(tb, rng, r)
}

// marshalGenerated writes a generated answer body as calsync's encoder
// does, with a ServerVersionInfo header or, every other time, none.
func marshalGenerated(tb testing.TB, rng *rand.Rand, body any) []byte {
	var h *ewswire.Header
	if rng.Intn(2) == 0 {
		h = &ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 1, MajorBuildNumber: 2507, MinorBuildNumber: rng.Intn(50), Version: "V2017_07_11"}}
	}
	b, err := ewswire.Marshal(h, body)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestFastSubscribeGenerated compares both decoders on generated Subscribe
// answers (success, warning, error; ids and texts with characters to
// escape; with and without header), written in every rewrite form.
func TestFastSubscribeGenerated(t *testing.T) {
	checkGenerated(t, "Subscribe", encodeSubscribe, compareSubscribe)
}

// checkGenerated compares both decoders on 60 generated answers, each in
// every rewrite form; the token decoder must answer all of them.
func checkGenerated(t *testing.T, op string, encode func(testing.TB, *rand.Rand) []byte, compare func(*testing.T, string, []byte, ewswire.Limits) bool) {
	rng := rand.New(rand.NewSource(16))
	for i := 0; i < 60; i++ {
		data := encode(t, rng)
		for v, form := range rewriteForms {
			name := fmt.Sprintf("response %d form %d", i, v)
			out := form(t, data)
			if !compare(t, name, out, ewswire.DefaultLimits) {
				t.Fatalf("%s: the token decoder declined a %s answer\n%s", name, op, out)
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
	checkDeclines(t, good, cases, ewswire.DecodeSubscribeFast, compareSubscribe)
	// Elements of other namespaces and unknown ones are skipped, as
	// encoding/xml skips them.
	skipped := bytes.Replace(good, []byte("<SubscriptionId>"), []byte(`<Note>n</Note><t:SubscriptionId xmlns:t="`+ewswire.NSTypes+`">other</t:SubscriptionId><SubscriptionId>`), 1)
	if !compareSubscribe(t, "skipped elements", skipped, ewswire.DefaultLimits) {
		t.Errorf("declined an answer with elements to skip:\n%s", skipped)
	}
}

// checkDeclines runs each case (an edit of good) through a token decoder:
// it must decline every one and agree with encoding/xml wherever it
// answers.
func checkDeclines(t *testing.T, good []byte, cases map[string][]byte, fast func([]byte, ewswire.Limits) (*ewswire.Envelope, error), compare func(*testing.T, string, []byte, ewswire.Limits) bool) {
	t.Helper()
	for name, data := range cases {
		if bytes.Equal(data, good) {
			t.Fatalf("%s: the case does not change the answer", name)
		}
		if _, err := fast(data, ewswire.DefaultLimits); err == nil {
			t.Errorf("%s: accepted", name)
		}
		compare(t, name, data, ewswire.DefaultLimits)
	}
}

// seedGenerated adds three answers of encode in every rewrite form to a
// fuzz corpus.
func seedGenerated(f *testing.F, encode func(testing.TB, *rand.Rand) []byte) {
	rng := rand.New(rand.NewSource(9))
	for i := 0; i < 3; i++ {
		data := encode(f, rng)
		for _, form := range rewriteForms {
			f.Add(form(f, data))
		}
	}
}

// TestFastSubscribeRecycledDecodersStayApart: the Subscribe decoder is
// reused from answer to answer and across goroutines; every answer equals
// its first decoding and the ones decoded earlier keep their values (run
// with -race).
func TestFastSubscribeRecycledDecodersStayApart(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	answers := make([][]byte, 6)
	want := make([]*ewswire.Envelope, len(answers))
	for i := range answers {
		answers[i] = encodeSubscribe(t, rng)
		var err error
		if want[i], err = ewswire.DecodeSubscribeFast(answers[i], ewswire.DefaultLimits); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	decodeConcurrently(t, answers, want, func(answer []byte) (*ewswire.Envelope, error) {
		return ewswire.DecodeSubscribeFast(answer, ewswire.DefaultLimits)
	})
}
