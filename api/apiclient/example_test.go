package apiclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
)

// A client reads a user's presence with its explanation, then follows the
// live event stream.
func Example() {
	at := time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)
	source := apitest.NewPresence(presence.Presence{User: "alice@example.com", Availability: presence.Busy,
		StatusText: "In a meeting until 10:00", Until: at.Add(time.Hour),
		Why: presence.Reason{Source: "calendar", Rule: "meeting", Subject: "Standup"}})
	log, _ := events.NewLog(events.Options{})
	defer log.Close()
	handler, _ := api.New(api.Options{Presence: source, Events: log, Tokens: []string{"s3cret"}})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	ctx := context.Background()
	client, _ := apiclient.New(srv.URL, "s3cret", nil)
	p, err := client.Presence(ctx, "alice@example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %s (%s), why: rule %q, %s\n", p.User, p.Availability, p.StatusText, p.Why.Rule, p.Why.Subject)

	stream, err := client.Events(ctx, "", "alice@example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stream.Close()
	for log.Subscribers() == 0 {
		time.Sleep(time.Millisecond)
	}
	change := source.Set(presence.Presence{User: "alice@example.com", Availability: presence.Available}, at.Add(time.Hour))
	_ = api.PresencePublisher{Events: log}.Publish(ctx, change)
	ev, err := stream.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Type)

	_, err = client.Presence(ctx, "nobody@example.com")
	fmt.Println(apiclient.StatusOf(err))
	// Output:
	// alice@example.com: busy (In a meeting until 10:00), why: rule "meeting", Standup
	// presence.changed
	// 404
}
