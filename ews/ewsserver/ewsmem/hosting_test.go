package ewsmem_test

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
)

func TestCloudMailboxOnEWS(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{Mailboxes: 2})
	if err := x.PlaceInCloud("user2@example.com"); err != nil {
		t.Fatal(err)
	}
	admit(t, x, svcCaller(x, "user1@example.com"))
	_, err := x.Admit(context.Background(), svcCaller(x, "user2@example.com"))
	if codeOf(err) != ews.ErrorNonExistentMailbox {
		t.Fatalf("cloud mailbox over EWS: %v, want ErrorNonExistentMailbox", err)
	}
	if !x.InCloud("user2@example.com") || x.InCloud("user1@example.com") {
		t.Fatal("InCloud does not follow PlaceInCloud")
	}
	if err := x.PlaceInCloud("nobody@example.com"); err == nil {
		t.Fatal("PlaceInCloud accepted an unknown mailbox")
	}
}

func TestMoveToCloudAndBack(t *testing.T) {
	x, clk := newExchange(t, ewsmem.Options{Mailboxes: 1, Servers: 2})
	const user = "user1@example.com"
	start := clk.Now()
	old, err := x.AddCalendarItem(user, ews.CalendarItem{Subject: "a", Start: start, End: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := x.ChangeSeq(user)
	done := make(chan struct{})
	if err := x.StartMove(user, ewsmem.Cloud, time.Minute, func() { close(done) }); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Admit(context.Background(), svcCaller(x, user)); codeOf(err) != ews.ErrorMailboxMoveInProgress {
		t.Fatalf("during the move: %v, want ErrorMailboxMoveInProgress", err)
	}
	if x.InCloud(user) {
		t.Fatal("in the cloud before the move completed")
	}
	if err := x.StartMove(user, ewsmem.Cloud, 0, nil); err == nil {
		t.Fatal("a second move of a moving mailbox was accepted")
	}
	clk.Advance(time.Minute)
	<-done
	if !x.InCloud(user) {
		t.Fatal("not in the cloud after the move")
	}
	where, moving, err := x.Hosting(user)
	if err != nil || where != ewsmem.Cloud || moving != "" {
		t.Fatalf("Hosting: %q %q %v", where, moving, err)
	}
	items, err := x.CalendarItems(user)
	if err != nil || len(items) != 1 || items[0].ItemId.Id == old.Id {
		t.Fatalf("after the move: %v %v; want one item with a new id", items, err)
	}
	if after, _ := x.ChangeSeq(user); after == before {
		t.Fatal("the move did not count as a change")
	}
	// Back on premises, to the second server, at once.
	server := x.Servers()[1]
	if err := x.StartMove(user, server, 0, nil); err != nil {
		t.Fatal(err)
	}
	admit(t, x, svcCaller(x, user))
	if got, _ := x.MailboxServer(user); got != server {
		t.Fatalf("server %s, want %s", got, server)
	}
	for _, bad := range []string{server, "mbx99.example.com"} {
		if err := x.StartMove(user, bad, 0, nil); err == nil {
			t.Fatalf("move to %s accepted", bad)
		}
	}
}

// A move in its phase waits on the model's clock; Close must end that
// wait even when the clock never moves again (a fake clock in a test).
func TestCloseEndsAMoveInItsPhase(t *testing.T) {
	x, clk := newExchange(t, ewsmem.Options{Mailboxes: 2})
	timers := clk.PendingTimers()
	completed := make(chan struct{})
	if err := x.StartMove("user1@example.com", ewsmem.Cloud, time.Hour, func() { close(completed) }); err != nil {
		t.Fatal(err)
	}
	if got := clk.PendingTimers(); got != timers+1 {
		t.Fatalf("pending timers during the move = %d, want %d", got, timers+1)
	}
	x.Close() // returns only when the move's goroutine has ended
	if got := clk.PendingTimers(); got != timers {
		t.Fatalf("pending timers after Close = %d, want %d (the move's timer is still armed)", got, timers)
	}
	clk.Advance(time.Hour)
	select {
	case <-completed:
		t.Fatal("the move completed on a closed model")
	default:
	}
	if err := x.StartMove("user2@example.com", ewsmem.Cloud, time.Minute, nil); err == nil {
		t.Fatal("StartMove on a closed model was accepted")
	}
}
