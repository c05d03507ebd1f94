package ewsclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// A client for one EWS endpoint with Basic authentication, reading one
// user's calendar through impersonation. (The server here is a tiny fake
// built on the shared codec.)
func ExampleClient_CalendarView() {
	srv := httptest.NewServer(&fakeEWS{})
	defer srv.Close()
	hc, err := ewsclient.NewHTTPClient(nil) // TLS verification on, bounded pools
	if err != nil {
		panic(err)
	}
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{
		HTTPClient: ewsclient.BasicAuth(hc, `CONTOSO\svc-calsync`, "secret"),
		Version:    ews.Exchange2016,
	})
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	page, err := c.CalendarView(context.Background(), ewsclient.ActAs("alice@contoso.com"),
		ewsclient.CalendarViewRequest{Start: start, End: start.AddDate(0, 0, 7), MaxEntries: 2})
	if err != nil {
		wait, retry := ews.RetryAfter(err)
		fmt.Println("failed:", err, "retry:", retry, "after:", wait)
		return
	}
	for _, it := range page.Items {
		fmt.Println(it.Start.Format(time.RFC3339), it.Subject, it.LegacyFreeBusyStatus)
	}
	fmt.Println("truncated, split the window:", page.Truncated())
	// Output:
	// 2026-03-02T10:00:00Z Meeting 1 Busy
	// 2026-03-02T11:00:00Z Meeting 2 Busy
	// truncated, split the window: true
}

// Streaming notifications for a group of subscriptions that share one
// mailbox server: subscribe each member with the group's Affinity, then
// read one connection.
func ExampleClient_GetStreamingEvents() {
	srv := httptest.NewServer(&fakeEWS{})
	defer srv.Close()
	c, _ := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", nil)
	ctx := context.Background()
	group := ewsclient.NewAffinity("")
	var ids []string
	for _, member := range []string{"alice@contoso.com", "bob@contoso.com"} {
		call := ewsclient.Call{ActAs: ews.ImpersonateSMTP(member), Anchor: "alice@contoso.com", Affinity: group}
		sub, err := c.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming})
		if err != nil {
			panic(err)
		}
		ids = append(ids, sub.Id)
	}
	stream, err := c.GetStreamingEvents(ctx, ewsclient.Call{Anchor: "alice@contoso.com", Affinity: group},
		ewsclient.StreamRequest{SubscriptionIds: ids, ConnectionTimeoutMinutes: 30})
	if err != nil {
		panic(err)
	}
	defer stream.Close()
	for {
		batch, err := stream.Next()
		if errors.Is(err, io.EOF) {
			fmt.Println("server closed the connection: reconnect")
			return
		}
		if err != nil {
			fmt.Println("stream failed:", err)
			return
		}
		if batch.Status != "" {
			fmt.Println("status", batch.Status)
		}
		for _, n := range batch.Notifications {
			fmt.Println("events for", n.SubscriptionId[:6], len(n.Events))
		}
		for _, f := range batch.Failed {
			fmt.Println("resubscribe", len(f.SubscriptionIds), "after", f.Err.Code)
		}
	}
	// Output:
	// status OK
	// events for JgBtYn 1
	// resubscribe 1 after ErrorSubscriptionNotFound
	// status Closed
	// server closed the connection: reconnect
}
