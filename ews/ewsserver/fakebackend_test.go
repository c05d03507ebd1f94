package ewsserver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// fakeBackend answers every operation trivially; streams replay a fixed
// list of messages. Handler tests use it to check what the handler itself
// writes, independent of the simulator's model.
type fakeBackend struct {
	stream []ewsserver.StreamMessage
}

func (*fakeBackend) Admit(context.Context, *ewsserver.Caller) (func(), error) { return func() {}, nil }
func (*fakeBackend) FindItem(context.Context, *ewsserver.Caller, ewsserver.FindItemRequest) (ewsserver.FindItemResult, error) {
	return ewsserver.FindItemResult{IncludesLastInRange: true}, nil
}
func (*fakeBackend) GetItem(_ context.Context, _ *ewsserver.Caller, refs []ews.ItemRef) []ewsserver.ItemResult {
	out := make([]ewsserver.ItemResult, len(refs))
	for i := range out {
		out[i].Err = ewsserver.Fail(ews.ErrorItemNotFound, "The specified object was not found in the store.")
	}
	return out
}
func (*fakeBackend) CreateItem(_ context.Context, _ *ewsserver.Caller, _ ews.FolderRef, items []ews.CalendarItem) []ewsserver.ItemResult {
	out := make([]ewsserver.ItemResult, len(items))
	for i, it := range items {
		it.ItemId = ews.ItemId{Id: "new", ChangeKey: "ck1"}
		out[i].Item = &it
	}
	return out
}
func (*fakeBackend) UpdateItem(_ context.Context, _ *ewsserver.Caller, changes []ewsserver.ItemChange, _ string) []ewsserver.ItemResult {
	out := make([]ewsserver.ItemResult, len(changes))
	for i := range changes {
		out[i].Item = &ews.CalendarItem{ItemId: ews.ItemId{Id: "upd", ChangeKey: "ck2"}, Subject: "full item", Location: "room"}
	}
	return out
}
func (*fakeBackend) DeleteItem(_ context.Context, _ *ewsserver.Caller, refs []ews.ItemRef) []error {
	return make([]error, len(refs))
}
func (*fakeBackend) SyncFolderItems(context.Context, *ewsserver.Caller, ewsserver.SyncRequest) (ewsserver.SyncResult, error) {
	return ewsserver.SyncResult{SyncState: "s", IncludesLastInRange: true}, nil
}
func (*fakeBackend) Subscribe(context.Context, *ewsserver.Caller, ewsserver.SubscribeRequest) (ewsserver.SubscribeResult, error) {
	return ewsserver.SubscribeResult{SubscriptionId: "sub"}, nil
}
func (*fakeBackend) GetEvents(context.Context, *ewsserver.Caller, string, string) (ews.Notification, error) {
	return ews.Notification{}, nil
}
func (*fakeBackend) Unsubscribe(context.Context, *ewsserver.Caller, string) error { return nil }
func (b *fakeBackend) OpenStream(context.Context, *ewsserver.Caller, []string, time.Duration) (ewsserver.Stream, error) {
	return &fakeStream{msgs: append([]ewsserver.StreamMessage(nil), b.stream...)}, nil
}

type fakeStream struct{ msgs []ewsserver.StreamMessage }

func (s *fakeStream) Next(ctx context.Context) (ewsserver.StreamMessage, error) {
	if len(s.msgs) == 0 {
		<-ctx.Done()
		return ewsserver.StreamMessage{}, ctx.Err()
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}
func (*fakeStream) Close() {}

// newFakeServer serves a Handler over b without authentication.
func newFakeServer(t *testing.T, b *fakeBackend, opts *ewsserver.Options) *httptest.Server {
	t.Helper()
	h, err := ewsserver.NewHandler(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return newFakeServerHandler(t, h)
}

func newFakeServerHandler(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// soapRequest wraps body in a SOAP 1.1 envelope with RequestServerVersion.
func soapRequest(body string) string {
	return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">` +
		`<s:Header><t:RequestServerVersion Version="Exchange2016"/></s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
}

// post sends a SOAP request and returns the response with its body read.
func post(t *testing.T, srv *httptest.Server, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/EWS/Exchange.asmx", "text/xml; charset=utf-8", strings.NewReader(soapRequest(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}
