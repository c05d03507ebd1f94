package ewswire_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/ewsschema"
)

// writeRecorder records each Write separately: one Write per envelope is
// what lets an http.ResponseWriter send each message in its own chunk.
type writeRecorder struct{ writes []string }

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func streamedMessages() []ewswire.GetStreamingEventsResponseMessage {
	return []ewswire.GetStreamingEventsResponseMessage{
		ewswire.ConnectionStatusMessage(ews.ConnectionOK),
		ewswire.NotificationsMessage(ews.Notification{SubscriptionId: "s1", Events: []ews.Event{{Type: ews.EventCreated,
			TimeStamp: time.Unix(0, 0), ItemId: &ews.ItemId{Id: "i", ChangeKey: "k"}, ParentFolderId: &ews.FolderId{Id: "f"}}}}),
		ewswire.SubscriptionErrorMessage(&ews.ResponseError{Code: ews.ErrorSubscriptionNotFound, MessageText: "gone"}, "s2"),
	}
}

func TestStreamWriterWritesExchangesEnvelopeForm(t *testing.T) {
	var rec writeRecorder
	sw := ewswire.NewStreamWriter(&rec, &ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 1}})
	for _, m := range streamedMessages() {
		if err := sw.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.writes) != 3 {
		t.Fatalf("%d writes for 3 envelopes, want one each", len(rec.writes))
	}
	for i, w := range rec.writes {
		// Clients cut the body at these literals.
		if !strings.HasPrefix(w, `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Header xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/">`) ||
			!strings.HasSuffix(w, `</soap11:Body></Envelope>`) || strings.Count(w, "<Envelope") != 1 || !strings.Contains(w, `<soap11:Body xmlns:soap11=`) {
			t.Errorf("envelope %d is not in Exchange's streamed form:\n%s", i, w)
		}
	}
	// The compactor drops the redundant xmlns: both inherit the messages
	// namespace of their parent.
	if !strings.Contains(rec.writes[1], `<Notifications><Notification>`) {
		t.Errorf("notification is not m:Notification by default:\n%s", rec.writes[1])
	}
	if !strings.Contains(rec.writes[2], `<ErrorSubscriptionIds><SubscriptionId>s2</SubscriptionId>`) {
		t.Errorf("error id is not m:SubscriptionId by default:\n%s", rec.writes[2])
	}
	assertStreamReadable(t, strings.Join(rec.writes, ""))
}

func TestStreamWriterSchemaNamespaceValidates(t *testing.T) {
	var buf bytes.Buffer
	sw := ewswire.NewStreamWriter(&buf, &ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 1, Version: "V2017_07_11"}}).SchemaNamespace()
	for _, m := range streamedMessages() {
		if err := sw.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	if !strings.Contains(out, `<Notification xmlns="`+ewswire.NSTypes) || !strings.Contains(out, `<SubscriptionId xmlns="`+ewswire.NSTypes+`">s2`) {
		t.Fatalf("SchemaNamespace did not write t:Notification:\n%s", out)
	}
	ewsschema.Validate(t, "getstreamingevents-schema-form", buf.Bytes())
	assertStreamReadable(t, out)
}

// assertStreamReadable checks that calsync's client reads the stream back.
func assertStreamReadable(t *testing.T, stream string) {
	t.Helper()
	r := ewswire.NewStreamReader(strings.NewReader(stream), ewswire.DefaultLimits)
	var got []string
	for {
		env, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("client cannot read the stream: %v", err)
		}
		m := env.Body.(*ewswire.GetStreamingEventsResponse).ResponseMessages.Messages[0]
		switch {
		case m.ConnectionStatus != "":
			got = append(got, m.ConnectionStatus)
		case m.Notifications != nil:
			n, err := m.Notifications.All()[0].ToEWS()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n.SubscriptionId+":"+string(n.Events[0].Type))
		default:
			got = append(got, m.ResponseCode+":"+strings.Join(m.ErrorSubscriptionIds.All(), ","))
		}
		if env.Header.ServerVersionInfo == nil {
			t.Errorf("envelope lost its ServerVersionInfo")
		}
	}
	if want := "OK|s1:CreatedEvent|ErrorSubscriptionNotFound:s2"; strings.Join(got, "|") != want {
		t.Fatalf("client read %q, want %q", strings.Join(got, "|"), want)
	}
}
