package ewswire_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/testenv"
)

// seedSamples adds every sample message of testdata/ews-samples to the corpus.
func seedSamples(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testenv.ReferenceDir(f), "ews-samples", "*.xml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(envelope(ewswire.NSSOAP11, "", unsubscribeBody)))
}

// FuzzDecodeEnvelope: any input yields an envelope or an error, never a
// panic; decoded messages convert without panicking and re-encode.
func FuzzDecodeEnvelope(f *testing.F) {
	seedSamples(f)
	seedCalendarViews(f)
	seedGenerated(f, encodeSubscribe)
	seedGenerated(f, encodeAvailability)
	seedGenerated(f, encodeMailTips)
	seedGenerated(f, encodeUserSettings)
	f.Add([]byte(exchangeUserSettings))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The token decoders must agree wherever they answer.
		compareDecoders(t, "fuzz input", data, ewswire.Limits{MaxBytes: 1 << 20, MaxDepth: 32})
		compareSubscribe(t, "fuzz input", data, ewswire.Limits{MaxBytes: 1 << 20, MaxDepth: 32})
		compareAvailability(t, "fuzz input", data, ewswire.Limits{MaxBytes: 1 << 20, MaxDepth: 32})
		compareMailTips(t, "fuzz input", data, ewswire.Limits{MaxBytes: 1 << 20, MaxDepth: 32})
		compareUserSettings(t, "fuzz input", data, ewswire.Limits{MaxBytes: 1 << 20, MaxDepth: 32})
		env, err := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.Limits{MaxBytes: 1 << 20, MaxDepth: 32}, ewswire.NewMessage)
		if err != nil {
			return
		}
		exerciseConversions(env)
		var out bytes.Buffer
		if fl := env.Fault(); fl != nil {
			_ = ewswire.EncodeFault(&out, fl)
			_ = fl.ToError(500)
			return
		}
		if _, raw := env.Body.(*ewswire.RawXML); raw {
			return // unknown bodies are kept for inspection, never re-encoded
		}
		if err := ewswire.EncodeEnvelope(&out, &env.Header, env.Body); err != nil {
			return
		}
		if _, err := ewswire.DecodeEnvelope(&out, ewswire.DefaultLimits, ewswire.NewMessage); err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v\n%s", err, out.Bytes())
		}
	})
}

// exerciseConversions runs the wire→ews conversions of a decoded body.
func exerciseConversions(env *ewswire.Envelope) {
	if env.Header.Impersonation != nil {
		_, _ = env.Header.Impersonation.ToEWS()
	}
	switch b := env.Body.(type) {
	case *ewswire.GetItemResponse:
		for i := range b.ResponseMessages.Messages {
			_ = b.ResponseMessages.Messages[i].Err("GetItem", i)
			_, _ = b.ResponseMessages.Messages[i].Items.CalendarItems()
		}
	case *ewswire.FindItemResponse:
		for _, m := range b.ResponseMessages.Messages {
			if m.RootFolder != nil {
				_, _ = m.RootFolder.Items.CalendarItems()
			}
		}
	case *ewswire.GetEventsResponse:
		for _, m := range b.ResponseMessages.Messages {
			if m.Notification != nil {
				_, _ = m.Notification.ToEWS()
			}
		}
	case *ewswire.GetStreamingEventsResponse:
		for _, m := range b.ResponseMessages.Messages {
			for _, n := range m.Notifications.All() {
				_, _ = n.ToEWS()
			}
		}
	case *ewswire.GetUserAvailabilityResponse:
		for _, r := range b.FreeBusyResponseArray.FreeBusyResponse {
			if r.FreeBusyView != nil {
				_, _ = r.FreeBusyView.ToEWS()
			}
		}
	case *ewswire.GetUserOofSettingsResponse:
		_, _ = b.ToEWS()
	case *ewswire.SyncFolderItemsResponse:
		for _, m := range b.ResponseMessages.Messages {
			if m.Changes != nil {
				for _, c := range *m.Changes {
					if c.CalendarItem != nil {
						_, _ = c.CalendarItem.ToEWS()
					}
				}
			}
		}
	case *ewswire.GetItem:
		for _, r := range b.ItemIds {
			_, _ = r.ToEWS()
		}
	}
}

// FuzzStreamingReader: any byte stream ends in io.EOF or an error after a
// bounded number of envelopes, never a panic or a hang.
func FuzzStreamingReader(f *testing.F) {
	seedSamples(f)
	var buf bytes.Buffer
	sw := ewswire.NewStreamWriter(&buf, nil)
	_ = sw.Write(ewswire.ConnectionStatusMessage("OK"))
	_ = sw.Write(ewswire.ConnectionStatusMessage("Closed"))
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r := ewswire.NewStreamReader(bytes.NewReader(data), ewswire.Limits{MaxBytes: 1 << 20, MaxDepth: 32})
		for i := 0; i <= len(data); i++ {
			env, err := r.Next()
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			exerciseConversions(env)
		}
		t.Fatalf("more envelopes than input bytes")
	})
}
