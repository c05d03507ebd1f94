package ewsmem_test

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
)

// A pull subscription that expired is resumed by subscribing again with
// its last watermark: the new subscription first delivers what happened
// in between (in this mailbox, of the kinds it asks for), as Exchange
// replays its event table; a watermark the table no longer reaches, or of
// an earlier server epoch, is ErrorInvalidWatermark.
func TestSubscribeWithWatermarkReplaysEvents(t *testing.T) {
	x, fc := newExchange(t, ewsmem.Options{NoDuplicates: true, EventHistory: 20})
	ctx := context.Background()
	user := "user1@example.com"
	c := svcCaller(x, user)
	subscribe := func(watermark string) (ewsserver.SubscribeResult, error) {
		return x.Subscribe(ctx, c, ewsserver.SubscribeRequest{Kind: ews.SubscriptionPull, Folders: []ews.FolderRef{ews.CalendarFolder()},
			EventTypes: []ews.EventType{ews.EventCreated, ews.EventDeleted}, Timeout: 1, Watermark: watermark})
	}
	add := func(mailbox, subject string) ews.ItemId {
		t.Helper()
		id, err := x.AddCalendarItem(mailbox, ews.CalendarItem{Subject: subject, Start: t0, End: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	sub, err := subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	first := add(user, "seen")
	n, err := x.GetEvents(ctx, c, sub.SubscriptionId, sub.Watermark)
	if err != nil || len(n.Events) != 1 || n.Events[0].Type != ews.EventCreated {
		t.Fatalf("GetEvents = %+v, %v", n, err)
	}
	last := n.Events[0].Watermark

	// The subscription expires; meanwhile an item is created and the
	// first deleted here, and one created in another mailbox.
	fc.Advance(2 * time.Minute)
	if _, err := x.GetEvents(ctx, c, sub.SubscriptionId, last); err == nil {
		t.Fatal("the subscription did not expire")
	}
	missed := add(user, "missed")
	add("user2@example.com", "elsewhere")
	if errs := x.DeleteItem(ctx, c, []ews.ItemRef{ews.ItemByID(first)}); errs[0] != nil {
		t.Fatal(errs[0])
	}

	again, err := subscribe(last)
	if err != nil {
		t.Fatalf("Subscribe(last watermark) = %v", err)
	}
	n, err = x.GetEvents(ctx, c, again.SubscriptionId, again.Watermark)
	if err != nil || len(n.Events) != 2 {
		t.Fatalf("GetEvents after resubscribing = %+v, %v; want the missed CreatedEvent and DeletedEvent", n, err)
	}
	if n.Events[0].Type != ews.EventCreated || n.Events[0].ItemId.Id != missed.Id || n.Events[1].Type != ews.EventDeleted || n.Events[1].ItemId.Id != first.Id {
		t.Errorf("replayed %s %s, %s %s; want CreatedEvent %s, DeletedEvent %s", n.Events[0].Type, n.Events[0].ItemId.Id, n.Events[1].Type, n.Events[1].ItemId.Id, missed.Id, first.Id)
	}
	// Resubscribing at the newest watermark replays nothing.
	latest, err := subscribe(n.Events[1].Watermark)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := x.GetEvents(ctx, c, latest.SubscriptionId, latest.Watermark); err != nil || n.Events[0].Type != ews.EventStatus {
		t.Errorf("GetEvents at the newest watermark = %+v, %v; want only a StatusEvent", n, err)
	}

	// The table holds 20 events (3 per change here): older watermarks
	// are gone.
	for i := 0; i < 10; i++ {
		add(user, "churn")
	}
	if _, err := subscribe(last); codeOf(err) != ews.ErrorInvalidWatermark {
		t.Errorf("Subscribe(watermark older than the table) = %v, want ErrorInvalidWatermark", err)
	}
	if _, err := subscribe("bm90IGEgd2F0ZXJtYXJr"); codeOf(err) != ews.ErrorInvalidWatermark {
		t.Errorf("Subscribe(malformed watermark) = %v, want ErrorInvalidWatermark", err)
	}
}
