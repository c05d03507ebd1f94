package ewssim_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/ews/internal/ewswire"
	"github.com/calsync/calsync/internal/clock"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) // a Monday

// newSim builds a simulator on a fake clock at t0 (3 mailboxes unless set).
func newSim(t *testing.T, opts ewssim.Options) *ewssim.Simulator {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clock.NewFake(t0)
	}
	if opts.Mailboxes == 0 {
		opts.Mailboxes = 3
	}
	sim, err := ewssim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// simEnv is a simulator served over HTTP with Basic authentication.
type simEnv struct {
	t     *testing.T
	sim   *ewssim.Simulator
	srv   *httptest.Server
	clock *clock.Fake
}

func newWireEnv(t *testing.T, opts ewssim.Options) *simEnv {
	t.Helper()
	fc := clock.NewFake(t0)
	opts.Clock = fc
	opts.Basic = true
	sim := newSim(t, opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &simEnv{t: t, sim: sim, srv: srv, clock: fc}
}

// do sends a request as the service account and returns status and body.
func (e *simEnv) do(method, path, contentType, body string, header ...string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.SetBasicAuth(e.sim.ServiceAccount(), "password")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// post sends an EWS request.
func (e *simEnv) post(body string, header ...string) (int, []byte) {
	e.t.Helper()
	return e.do(http.MethodPost, "/EWS/Exchange.asmx", "text/xml; charset=utf-8", body, header...)
}

const soapStart = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">`

// envelope builds a request with RequestServerVersion and impersonation.
func envelope(version, impersonate, body string) string {
	h := `<t:RequestServerVersion Version="` + version + `"/>`
	if impersonate != "" {
		h += `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>` + impersonate + `</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
	}
	return soapStart + `<s:Header>` + h + `</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
}

// decode parses a response envelope into v (or returns the fault).
func decode(t *testing.T, data []byte, v any) *ewswire.Fault {
	t.Helper()
	env, err := ewswire.DecodeEnvelope(bytes.NewReader(data), ewswire.DefaultLimits, ewswire.Expect(v))
	if err != nil {
		t.Fatalf("DecodeEnvelope() = %v\n%s", err, data)
	}
	return env.Fault()
}

// subscribeStreaming subscribes user's calendar and returns the id.
func (e *simEnv) subscribeStreaming(user string) string {
	e.t.Helper()
	_, data := e.post(envelope("Exchange2013_SP1", user, `<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>`), "X-AnchorMailbox", user)
	var r ewswire.SubscribeResponse
	decode(e.t, data, &r)
	if m := r.ResponseMessages.Messages[0]; m.SubscriptionId != "" {
		return m.SubscriptionId
	}
	e.t.Fatalf("streaming Subscribe = %s", data)
	return ""
}
