package ewsclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// BenchmarkCalendarViewCall is one CalendarView call as the engine makes
// it at a load (impersonated, Basic authentication, the mailbox's EWS URL
// from Autodiscover) against a server that answers ten items from memory:
// the client's request building, HTTP round trip and decoding, plus the
// constant allocations of the in-process HTTP server.
func BenchmarkCalendarViewCall(b *testing.B) {
	items := make([]ews.CalendarItem, 10)
	for i := range items {
		items[i] = sampleItem(i)
	}
	r := &ewswire.FindItemResponse{}
	r.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: ewswire.Success(),
		RootFolder: &ewswire.FindItemRootFolder{TotalItemsInView: len(items), IncludesLastItemInRange: true, Items: *ewswire.ItemsOf(items)}}}
	answer, err := ewswire.Marshal(&ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 20}}, r)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [4096]byte
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				break
			}
		}
		w.Header()["Content-Type"] = []string{"text/xml; charset=utf-8"}
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: ewsclient.BasicAuth(srv.Client(), "svc", "secret")})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	req := ewsclient.CalendarViewRequest{Start: start, End: start.Add(14 * 24 * time.Hour)}
	call := ewsclient.Call{ActAs: ews.ImpersonateSMTP("user1@contoso.com"), Endpoint: srv.URL + "/EWS/Exchange.asmx"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		page, err := c.CalendarView(ctx, call, req)
		if err != nil || len(page.Items) != len(items) {
			b.Fatal(err)
		}
	}
}
