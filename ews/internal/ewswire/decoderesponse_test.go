package ewswire_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// TestDecodeResponseMatchesDecodeEnvelope: the client's decoding path gives
// what encoding/xml gives — envelope, values and errors — for every sample
// and generated answer, whichever response it is asked for, and whether the
// body arrives at once or byte by byte.
func TestDecodeResponseMatchesDecodeEnvelope(t *testing.T) {
	inputs := map[string][]byte{}
	for name, b := range readSamples(t) {
		inputs[name] = b
		inputs[name+" truncated"] = b[:len(b)*2/3]
	}
	rng := rand.New(rand.NewSource(5))
	for i := range 4 {
		inputs[fmt.Sprintf("subscribe %d", i)] = encodeSubscribe(t, rng)
		inputs[fmt.Sprintf("calendar view %d", i)] = encodeFindItem(t, []ews.CalendarItem{randomItem(rng, i)}, i%2 == 0)
	}
	targets := map[string]func() any{
		"FindItem":    func() any { return &ewswire.FindItemResponse{} },
		"Subscribe":   func() any { return &ewswire.SubscribeResponse{} },
		"Unsubscribe": func() any { return &ewswire.UnsubscribeResponse{} },
	}
	for name, data := range inputs {
		for tname, target := range targets {
			want := target()
			wenv, werr := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.DefaultLimits, ewswire.Expect(want))
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = bytes.NewReader(data)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				got := target()
				genv, gerr := ewswire.DecodeResponse(r, ewswire.DefaultLimits, got)
				if fmt.Sprint(gerr) != fmt.Sprint(werr) {
					t.Fatalf("%s as %s (one byte %v): error %v, encoding/xml says %v", name, tname, oneByte, gerr, werr)
				}
				if werr != nil {
					continue
				}
				if !reflect.DeepEqual(listed(t, genv), listed(t, wenv)) {
					t.Fatalf("%s as %s (one byte %v): envelopes differ\n%+v\n%+v", name, tname, oneByte, genv.Body, wenv.Body)
				}
			}
		}
	}
}

// listed returns the envelope with a FindItem answer's converted items in
// the form encoding/xml leaves them (the fast path fills them converted).
func listed(t *testing.T, env *ewswire.Envelope) any {
	t.Helper()
	fr, ok := env.Body.(*ewswire.FindItemResponse)
	if !ok {
		return env
	}
	var items [][]ews.CalendarItem
	for _, m := range fr.ResponseMessages.Messages {
		if m.RootFolder != nil {
			it, err := m.RootFolder.Items.CalendarItems()
			if err != nil {
				t.Fatal(err)
			}
			if len(it) == 0 {
				it = nil
			}
			items = append(items, it)
		}
	}
	return struct {
		SOAP12 bool
		Header ewswire.Header
		Items  [][]ews.CalendarItem
	}{env.SOAP12, env.Header, items}
}

// stallingReader hands out data, then fails the test's decode if read
// again: a server that keeps the body open after the envelope.
type stallingReader struct{ data []byte }

var errReadPastEnvelope = errors.New("read past the end of the envelope")

func (s *stallingReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, errReadPastEnvelope
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestDecodeResponseStopsAtEnvelopeEnd: once the envelope is complete the
// body is not read further, on the token decoders' path and on
// encoding/xml's.
func TestDecodeResponseStopsAtEnvelopeEnd(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	unsubscribed, err := ewswire.Marshal(nil, &ewswire.UnsubscribeResponse{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		data []byte
		out  any
	}{
		"calendar view": {encodeFindItem(t, []ews.CalendarItem{randomItem(rng, 1)}, true), &ewswire.FindItemResponse{}},
		"subscribe":     {append(encodeSubscribe(t, rng), "\r\n"...), &ewswire.SubscribeResponse{}},
		"subscribe with a fault": {[]byte(`<s:Envelope xmlns:s="` + ewswire.NSSOAP11 + `"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>`),
			&ewswire.SubscribeResponse{}},
		"unsubscribe": {unsubscribed, &ewswire.UnsubscribeResponse{}},
	}
	for name, c := range cases {
		env, err := ewswire.DecodeResponse(&stallingReader{data: c.data}, ewswire.DefaultLimits, c.out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if env.Body == nil {
			t.Fatalf("%s: no body", name)
		}
	}
}
