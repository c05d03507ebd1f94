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
)

const unsubscribeBody = `<m:Unsubscribe xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:SubscriptionId>abc</m:SubscriptionId></m:Unsubscribe>`

func envelope(ns, header, body string) string {
	return `<?xml version="1.0" encoding="utf-8"?><e:Envelope xmlns:e="` + ns + `">` + header + `<e:Body>` + body + `</e:Body></e:Envelope>`
}

func TestDecodeEnvelopeAcceptsAndRejects(t *testing.T) {
	deep := strings.Repeat("<x>", 200) + strings.Repeat("</x>", 200)
	tests := []struct {
		name    string
		in      string
		wantErr string // "" = must decode
	}{
		{"soap11", envelope(ewswire.NSSOAP11, "", unsubscribeBody), ""},
		{"soap12", envelope(ewswire.NSSOAP12, "", unsubscribeBody), ""},
		{"other prefix", strings.NewReplacer("<e:", "<soapenv:", "</e:", "</soapenv:", "xmlns:e=", "xmlns:soapenv=").Replace(envelope(ewswire.NSSOAP11, "", unsubscribeBody)), ""},
		{"https namespace rendering artefact", envelope("https://schemas.xmlsoap.org/soap/envelope/", "", unsubscribeBody), "not a SOAP envelope"},
		{"wrong root", `<Envelope/>`, "not a SOAP envelope"},
		{"empty body", envelope(ewswire.NSSOAP11, "", ""), "empty Body"},
		{"two body elements", envelope(ewswire.NSSOAP11, "", unsubscribeBody+unsubscribeBody), "more than one element"},
		{"text in body", envelope(ewswire.NSSOAP11, "", "hello"), "text directly inside the Body"},
		{"no body", `<e:Envelope xmlns:e="` + ewswire.NSSOAP11 + `"></e:Envelope>`, "no Body"},
		{"duplicate version header", envelope(ewswire.NSSOAP11, `<e:Header><t:RequestServerVersion xmlns:t="`+ewswire.NSTypes+`" Version="Exchange2016"/><t:RequestServerVersion xmlns:t="`+ewswire.NSTypes+`" Version="Exchange2016"/></e:Header>`, unsubscribeBody), "duplicate RequestServerVersion"},
		{"truncated", envelope(ewswire.NSSOAP11, "", unsubscribeBody)[:120], "unexpected EOF"},
		{"invalid utf-8", envelope(ewswire.NSSOAP11, "", "<m:Unsubscribe xmlns:m=\""+ewswire.NSMessages+"\"><m:SubscriptionId>\xff\xfe</m:SubscriptionId></m:Unsubscribe>"), "UTF-8"},
		{"deep nesting", envelope(ewswire.NSSOAP11, "", "<m:Unsubscribe xmlns:m=\""+ewswire.NSMessages+"\">"+deep+"</m:Unsubscribe>"), "nested too deeply"},
		{"foreign charset", `<?xml version="1.0" encoding="ISO-8859-1"?>` + envelope(ewswire.NSSOAP11, "", unsubscribeBody)[38:], "charset"},
		{"not xml", "HTTP/1.1 200 OK <html>", "text outside the envelope"},
		{"html page", "<html><body>Sign in</body></html>", "not a SOAP envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ewswire.DecodeRequest(strings.NewReader(tt.in), ewswire.DefaultLimits)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("DecodeRequest() = %v", err)
				}
				if u, ok := env.Body.(*ewswire.Unsubscribe); !ok || u.SubscriptionId != "abc" {
					t.Fatalf("body = %#v", env.Body)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("DecodeRequest() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	big := envelope(ewswire.NSSOAP11, "", `<m:Unsubscribe xmlns:m="`+ewswire.NSMessages+`"><m:SubscriptionId>`+strings.Repeat("a", 1<<20)+`</m:SubscriptionId></m:Unsubscribe>`)
	_, err := ewswire.DecodeRequest(strings.NewReader(big), ewswire.Limits{MaxBytes: 64 << 10})
	if !errors.Is(err, ewswire.ErrTooLarge) {
		t.Fatalf("DecodeRequest(1 MiB, limit 64 KiB) = %v, want ErrTooLarge", err)
	}
	_, err = ewswire.DecodeRequest(strings.NewReader(envelope(ewswire.NSSOAP11, "", unsubscribeBody)), ewswire.Limits{MaxDepth: 3})
	if !errors.Is(err, ewswire.ErrTooDeep) {
		t.Fatalf("DecodeRequest(depth 4, limit 3) = %v, want ErrTooDeep", err)
	}
}

// failingReader returns data then a network-style error.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestDecodeReportsReadErrors(t *testing.T) {
	cause := errors.New("connection reset by peer")
	_, err := ewswire.DecodeRequest(&failingReader{data: []byte(envelope(ewswire.NSSOAP11, "", unsubscribeBody)[:100]), err: cause}, ewswire.DefaultLimits)
	var re *ewswire.ReadError
	if !errors.As(err, &re) || !errors.Is(err, cause) {
		t.Fatalf("DecodeRequest() = %v, want a ReadError wrapping the cause", err)
	}
}

func TestUnknownRequestKeptRaw(t *testing.T) {
	env, err := ewswire.DecodeRequest(strings.NewReader(envelope(ewswire.NSSOAP11, `<e:Header><x:Custom xmlns:x="urn:x">1</x:Custom></e:Header>`,
		`<m:ResolveNames xmlns:m="`+ewswire.NSMessages+`" ReturnFullContactData="true"><m:UnresolvedEntry>bob</m:UnresolvedEntry></m:ResolveNames>`)), ewswire.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := env.Body.(*ewswire.RawXML)
	if !ok || env.BodyName.Local != "ResolveNames" || !strings.Contains(raw.Text(), "bob") || len(raw.Attrs) != 2 {
		t.Fatalf("body = %#v", env.Body)
	}
	if len(env.Header.Unknown) != 1 || env.Header.Unknown[0].Space != "urn:x" {
		t.Fatalf("unknown headers = %v", env.Header.Unknown)
	}
}

func TestFaultRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		fault  *ewswire.Fault
		check  func(*ews.SOAPFault) bool
		soap12 string
	}{
		{"server busy", ewswire.NewFault(ews.ErrorServerBusy, "Try again later.", map[string]string{ews.ValueBackOffMilliseconds: "5000"}),
			func(f *ews.SOAPFault) bool {
				return f.Code == ews.ErrorServerBusy && f.BackOff == 5*time.Second && f.StatusCode == 500
			}, ""},
		{"schema validation", ewswire.NewFault(ews.ErrorSchemaValidation, "The request failed schema validation.", map[string]string{ews.ValueLineNumber: "2", ews.ValueLinePosition: "7", ews.ValueViolation: "bad element"}),
			func(f *ews.SOAPFault) bool {
				return f.Code == ews.ErrorSchemaValidation && f.MessageXml[ews.ValueViolation] == "bad element" && strings.Contains(f.Error(), "line 2, position 7")
			}, ""},
		{"internal error hides details", ewswire.FaultFromError(errors.New("db password wrong at 10.0.0.1")),
			func(f *ews.SOAPFault) bool {
				return f.Code == ews.ErrorInternalServerError && !strings.Contains(f.Error(), "10.0.0.1")
			}, ""},
		{"impersonation denied", ewswire.FaultFromError(&ews.ResponseError{Code: ews.ErrorImpersonateUserDenied, MessageText: "The account does not have permission to impersonate the requested user."}),
			func(f *ews.SOAPFault) bool { return ews.IsCode(f, ews.ErrorImpersonateUserDenied) && !ews.Retryable(f) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ewswire.EncodeFault(&buf, tt.fault); err != nil {
				t.Fatal(err)
			}
			env, err := ewswire.DecodeEnvelope(&buf, ewswire.DefaultLimits, nil)
			if err != nil || env.Fault() == nil {
				t.Fatalf("decode = %v, %#v", err, env)
			}
			if f := env.Fault().ToError(500); !tt.check(f) {
				t.Fatalf("fault = %+v", f)
			}
		})
	}
}

func TestSOAP12Fault(t *testing.T) {
	in := `<s:Envelope xmlns:s="` + ewswire.NSSOAP12 + `"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en">Bad request</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`
	env, err := ewswire.DecodeEnvelope(strings.NewReader(in), ewswire.DefaultLimits, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := env.Fault()
	if !env.SOAP12 || f == nil || f.Code != "Sender" || f.String != "Bad request" || f.ToError(500).Code != "" {
		t.Fatalf("fault = %+v", f)
	}
}

func TestResponseMessageErr(t *testing.T) {
	k := 3
	tests := []struct {
		msg      ewswire.ResponseMessage
		wantCode ews.ResponseCode
		backoff  time.Duration
	}{
		{ewswire.Success(), "", 0},
		{ewswire.ResponseMessage{ResponseClass: "Warning", ResponseCode: "NoError"}, "", 0},
		{ewswire.ResponseMessage{ResponseClass: "Warning", ResponseCode: " ErrorBatchProcessingStopped "}, ews.ErrorBatchProcessingStopped, 0},
		{ewswire.ResponseMessage{ResponseClass: "Error", ResponseCode: "ErrorServerBusy", DescriptiveLinkKey: &k, MessageXml: ewswire.MessageXml{"BackOffMilliseconds": "1500"}}, ews.ErrorServerBusy, 1500 * time.Millisecond},
		{ewswire.ResponseMessage{ResponseClass: "Error"}, ews.ErrorInternalServerError, 0},
	}
	for _, tt := range tests {
		err := tt.msg.Err("GetItem", 2)
		if tt.wantCode == "" {
			if err != nil {
				t.Errorf("Err(%+v) = %v", tt.msg, err)
			}
			continue
		}
		var re *ews.ResponseError
		if !errors.As(err, &re) || re.Code != tt.wantCode || re.BackOff != tt.backoff || re.Index != 2 {
			t.Errorf("Err(%+v) = %#v", tt.msg, err)
		}
	}
	if err := (&ewswire.ResponseMessage{ResponseClass: "Bogus", ResponseCode: "ErrorX"}).Err("GetItem", 0); !errors.As(err, new(*ews.ProtocolError)) {
		t.Errorf("unknown class = %v, want ProtocolError", err)
	}
	m := ewswire.ErrorResponseMessage(errors.New("secret internals"))
	if m.ResponseCode != string(ews.ErrorInternalServerError) || strings.Contains(m.MessageText, "secret") {
		t.Errorf("ErrorResponseMessage(generic) = %+v", m)
	}
}

func TestStreamReader(t *testing.T) {
	var buf bytes.Buffer
	sw := ewswire.NewStreamWriter(&buf, nil)
	if err := sw.Write(ewswire.ConnectionStatusMessage(ews.ConnectionOK)); err != nil {
		t.Fatal(err)
	}
	if err := sw.Write(ewswire.NotificationsMessage(ews.Notification{SubscriptionId: "s1", Events: []ews.Event{{Type: ews.EventDeleted, TimeStamp: time.Unix(0, 0), ItemId: &ews.ItemId{Id: "i"}, ParentFolderId: &ews.FolderId{Id: "f"}}}})); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\r\n")
	if err := sw.Write(ewswire.SubscriptionErrorMessage(&ews.ResponseError{Code: ews.ErrorSubscriptionNotFound}, "s2")); err != nil {
		t.Fatal(err)
	}
	// An Exchange-style m:SubscriptionId error envelope.
	buf.WriteString(`<s:Envelope xmlns:s="` + ewswire.NSSOAP11 + `"><s:Body><m:GetStreamingEventsResponse xmlns:m="` + ewswire.NSMessages + `"><m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>x</m:MessageText><m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:ErrorSubscriptionIds><m:SubscriptionId>s3</m:SubscriptionId></m:ErrorSubscriptionIds></m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></s:Body></s:Envelope>`)
	r := ewswire.NewStreamReader(&buf, ewswire.DefaultLimits)
	var ids []string
	for i := 0; ; i++ {
		env, err := r.Next()
		if errors.Is(err, io.EOF) {
			if i != 4 {
				t.Fatalf("envelopes = %d, want 4", i)
			}
			break
		}
		if err != nil {
			t.Fatalf("Next() #%d = %v", i, err)
		}
		m := env.Body.(*ewswire.GetStreamingEventsResponse).ResponseMessages.Messages[0]
		ids = append(ids, m.ErrorSubscriptionIds.All()...)
		if i == 1 && (len(m.Notifications.All()) != 1 || m.Notifications.All()[0].Events[0].Type != "DeletedEvent") {
			t.Fatalf("notification envelope = %+v", m)
		}
	}
	if strings.Join(ids, ",") != "s2,s3" {
		t.Fatalf("error ids = %v (t: and m: forms must both be read)", ids)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next() after EOF = %v", err)
	}
}

func TestStreamReaderPerEnvelopeLimit(t *testing.T) {
	var buf bytes.Buffer
	sw := ewswire.NewStreamWriter(&buf, nil)
	for i := 0; i < 50; i++ {
		_ = sw.Write(ewswire.ConnectionStatusMessage(ews.ConnectionOK))
	}
	// 50 small envelopes pass a 16 KiB per-envelope limit (the budget resets).
	r := ewswire.NewStreamReader(bytes.NewReader(buf.Bytes()), ewswire.Limits{MaxBytes: 16 << 10})
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next() #%d = %v", n, err)
		}
		n++
	}
	if n != 50 {
		t.Fatalf("envelopes = %d", n)
	}
	// A single huge envelope does not.
	huge := envelope(ewswire.NSSOAP11, "", `<m:GetStreamingEventsResponse xmlns:m="`+ewswire.NSMessages+`"><m:ResponseMessages>`+strings.Repeat("<m:x/>", 10000)+`</m:ResponseMessages></m:GetStreamingEventsResponse>`)
	r = ewswire.NewStreamReader(strings.NewReader(huge), ewswire.Limits{MaxBytes: 16 << 10})
	if _, err := r.Next(); !errors.Is(err, ewswire.ErrTooLarge) {
		t.Fatalf("Next(huge) = %v, want ErrTooLarge", err)
	}
}
