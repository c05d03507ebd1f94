package ewswire_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// compareMailTips is compareFast for the GetMailTips token decoder.
func compareMailTips(t *testing.T, name string, data []byte, lim ewswire.Limits) bool {
	t.Helper()
	return compareFast[ewswire.GetMailTipsResponse](t, name, data, lim, ewswire.DecodeMailTipsFast)
}

// mailTipsTexts hold characters to escape, non-ASCII text and HTML, as
// automatic replies do.
var mailTipsTexts = []string{"", "Away", `<html><body>Back on Monday &amp; later</body></html>`, "Ünïcødé ✓ 𝄞", " spaced \t tab ", "line\nbreak"}

// encodeMailTips writes a GetMailTips answer of 1–60 recipients as the
// simulator's encoder does: tips on and off, with and without a schedule,
// recipients' own errors, now and then a request-level error.
func encodeMailTips(tb testing.TB, rng *rand.Rand) []byte {
	pick := func() string { return mailTipsTexts[rng.Intn(len(mailTipsTexts))] }
	r := &ewswire.GetMailTipsResponse{ResponseMessage: ewswire.Success()}
	switch rng.Intn(8) {
	case 0:
		r.ResponseMessage = ewswire.ResponseMessage{ResponseClass: "Error", ResponseCode: "ErrorExceededMaxRecipientLimit", MessageText: pick()}
	case 1:
		r.ResponseMessage.ResponseClass = "Warning"
	}
	if r.ResponseClass != "Error" {
		r.ResponseMessages = &struct {
			Messages []ewswire.MailTipsResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailTipsResponseMessageType"`
		}{}
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		for i := range 1 + rng.Intn(60) {
			m := ewswire.MailTipsResponseMessage{ResponseMessage: ewswire.Success()}
			tip := ews.OutOfOfficeTip{Recipient: fmt.Sprintf("user%d@example.org", i)}
			switch rng.Intn(5) {
			case 0:
				m.ResponseMessage = ewswire.ResponseMessage{ResponseClass: "Error", ResponseCode: "ErrorMailRecipientNotFound", MessageText: pick()}
				r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, m)
				continue
			case 1:
				tip.On, tip.Message = true, pick()
			case 2:
				tip.On, tip.Message = true, pick()
				tip.Start = start.Add(time.Duration(rng.Intn(1000)) * time.Hour)
				tip.End = tip.Start.Add(time.Duration(1+rng.Intn(100)) * time.Hour)
			}
			m.MailTips = ewswire.MailTipsFrom(tip)
			r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, m)
		}
	}
	return marshalGenerated(tb, rng, r)
}

// TestFastMailTipsGenerated compares both decoders on generated GetMailTips
// answers written in every rewrite form; the token decoder takes them all.
func TestFastMailTipsGenerated(t *testing.T) {
	checkGenerated(t, "GetMailTips", encodeMailTips, compareMailTips)
}

// TestFastMailTipsDeclines: shapes left to encoding/xml and hostile input
// end in an error of the token decoder, never a panic or a wrong answer.
func TestFastMailTipsDeclines(t *testing.T) {
	var good []byte
	for seed := int64(1); !bytes.Contains(good, []byte("<Duration>")); seed++ {
		good = encodeMailTips(t, rand.New(rand.NewSource(seed)))
	}
	if !compareMailTips(t, "good", good, ewswire.DefaultLimits) {
		t.Fatalf("the good answer is declined:\n%s", good)
	}
	cases := map[string][]byte{
		"truncated":        good[:len(good)/2],
		"fault":            []byte(`<s:Envelope xmlns:s="` + ewswire.NSSOAP11 + `"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>`),
		"link key":         bytes.Replace(good, []byte("<ResponseCode>"), []byte("<DescriptiveLinkKey>1</DescriptiveLinkKey><ResponseCode>"), 1),
		"unknown header":   bytes.Replace(good, []byte("<s:Body>"), []byte(`<s:Header><X xmlns="urn:x"/></s:Header><s:Body>`), 1),
		"doctype":          append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), good...),
		"two lists":        bytes.Replace(good, []byte("</ResponseMessages>"), []byte(`</ResponseMessages><ResponseMessages></ResponseMessages>`), 1),
		"two tips":         bytes.Replace(good, []byte("</MailTips>"), []byte(`</MailTips><MailTips></MailTips>`), 1),
		"repeated address": bytes.Replace(good, []byte("<EmailAddress>"), []byte("<EmailAddress>x</EmailAddress><EmailAddress>"), 1),
		"two addresses":    bytes.Replace(good, []byte("</RecipientAddress>"), []byte("</RecipientAddress><RecipientAddress xmlns=\""+ewswire.NSTypes+"\"/>"), 1),
		"repeated start":   bytes.Replace(good, []byte("<StartTime>"), []byte("<StartTime>2026-03-02T08:00:00Z</StartTime><StartTime>"), 1),
		"bad start":        bytes.Replace(good, []byte("<StartTime>"), []byte("<StartTime>soon"), 1),
		"other body":       bytes.Replace(bytes.Replace(good, []byte("<GetMailTipsResponse "), []byte("<GetUserOofSettingsResponse "), 1), []byte("</GetMailTipsResponse>"), []byte("</GetUserOofSettingsResponse>"), 1),
		"bad utf8":         bytes.Replace(good, []byte("<EmailAddress>"), []byte("<EmailAddress>\xff"), 1),
		"NUL reference":    bytes.Replace(good, []byte("<EmailAddress>"), []byte("<EmailAddress>&#0;"), 1),
		"deep":             bytes.Replace(good, []byte("<EmailAddress>"), []byte("<EmailAddress>"+strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100)), 1),
	}
	checkDeclines(t, good, cases, ewswire.DecodeMailTipsFast, compareMailTips)
	// Elements of other namespaces and unknown ones are skipped, as
	// encoding/xml skips them.
	skipped := bytes.Replace(good, []byte("<MailTips>"), []byte(`<MailTips><Note>n</Note><CustomMailTip xmlns="`+ewswire.NSTypes+`">hi</CustomMailTip><PendingMailTips>other</PendingMailTips>`), 1)
	if !compareMailTips(t, "skipped elements", skipped, ewswire.DefaultLimits) {
		t.Errorf("declined an answer with elements to skip:\n%s", skipped)
	}
}

// BenchmarkDecodeMailTips decodes a GetMailTips answer of 50 recipients
// (the simulator's and calsync's default limit), replies off for all but
// five, through DecodeResponse (the client's path) and through
// encoding/xml.
func BenchmarkDecodeMailTips(b *testing.B) {
	r := &ewswire.GetMailTipsResponse{ResponseMessage: ewswire.Success()}
	r.ResponseMessages = &struct {
		Messages []ewswire.MailTipsResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailTipsResponseMessageType"`
	}{}
	for i := range 50 {
		tip := ews.OutOfOfficeTip{Recipient: fmt.Sprintf("user%05d@example.org", i)}
		if i%10 == 0 {
			tip.On, tip.Message = true, "I am away until Monday."
		}
		r.ResponseMessages.Messages = append(r.ResponseMessages.Messages, ewswire.MailTipsResponseMessage{ResponseMessage: ewswire.Success(), MailTips: ewswire.MailTipsFrom(tip)})
	}
	data, err := ewswire.Marshal(&ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 1, Version: "V2017_07_11"}}, r)
	if err != nil {
		b.Fatal(err)
	}
	for _, dec := range []struct {
		name   string
		decode func(io.Reader, ewswire.Limits, *ewswire.GetMailTipsResponse) (*ewswire.Envelope, error)
	}{
		{"token", func(r io.Reader, lim ewswire.Limits, resp *ewswire.GetMailTipsResponse) (*ewswire.Envelope, error) {
			return ewswire.DecodeResponse(r, lim, resp)
		}},
		{"encoding/xml", func(r io.Reader, lim ewswire.Limits, resp *ewswire.GetMailTipsResponse) (*ewswire.Envelope, error) {
			return ewswire.DecodeEnvelope(r, lim, ewswire.Expect(resp))
		}},
	} {
		b.Run(dec.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var resp ewswire.GetMailTipsResponse
				if _, err := dec.decode(bytes.NewReader(data), ewswire.DefaultLimits, &resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// randomMailTipsRequest is a GetMailTips request as the client sends it
// (fastencode_test.go), with some of the address fields it leaves empty.
func randomMailTipsRequest(rng *rand.Rand, text func() string) *ewswire.GetMailTips {
	addr := func() ewswire.EmailAddress {
		a := ewswire.EmailAddress{EmailAddress: text(), RoutingType: "SMTP"}
		if rng.Intn(4) == 0 {
			a.Name, a.MailboxType = text(), "Mailbox"
		}
		return a
	}
	r := &ewswire.GetMailTips{SendingAs: addr(), MailTipsRequested: "OutOfOfficeMessage"}
	for range 1 + rng.Intn(60) {
		r.Recipients.Mailbox = append(r.Recipients.Mailbox, addr())
	}
	return r
}

// BenchmarkMarshalMailTips writes a GetMailTips request of 50 recipients
// through Marshal (the fast path) and through encoding/xml.
func BenchmarkMarshalMailTips(b *testing.B) {
	r := &ewswire.GetMailTips{SendingAs: ewswire.EmailAddress{EmailAddress: "user00000@example.org", RoutingType: "SMTP"}, MailTipsRequested: "OutOfOfficeMessage"}
	for i := range 50 {
		r.Recipients.Mailbox = append(r.Recipients.Mailbox, ewswire.EmailAddress{EmailAddress: fmt.Sprintf("user%05d@example.org", i), RoutingType: "SMTP"})
	}
	h := &ewswire.Header{RequestServerVersion: &ewswire.RequestServerVersion{Version: "Exchange2016"}, Impersonation: &ewswire.ExchangeImpersonation{ConnectingSID: ewswire.ConnectingSID{PrimarySmtpAddress: "user00000@example.org"}}}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ewswire.Marshal(h, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/xml", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := ewswire.EncodeEnvelope(&buf, h, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
