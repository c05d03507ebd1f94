package events_test

import (
	"testing"

	"github.com/calsync/calsync/events"
)

func TestNumberedLogKeepsTheIdsItIsGiven(t *testing.T) {
	l, err := events.NewLog(events.Options{Numbered: true, History: 4})
	if err != nil {
		t.Fatal(err)
	}
	if l.LastID() != 0 {
		t.Fatalf("LastID of an empty numbered log = %d, want 0", l.LastID())
	}
	ev := func(id uint64) events.Event {
		return events.Event{ID: id, Type: events.PresenceChanged, Key: "a@x", Data: []byte(`{}`)}
	}
	if err := l.Append([]events.Event{ev(3), ev(7)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]events.Event{ev(8), ev(7)}); err == nil {
		t.Fatal("Append accepted an id that does not increase")
	}
	if l.LastID() != 7 {
		t.Fatalf("LastID = %d after a refused batch, want 7", l.LastID())
	}
	if err := l.Publish(t.Context(), []events.Event{ev(0)}); err == nil {
		t.Fatal("Publish on a numbered log succeeded")
	}
	sub, err := l.Subscribe(events.From{Resume: true, After: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Reset || len(sub.Replay) != 1 || sub.Replay[0].ID != 7 {
		t.Fatalf("resume after 3: reset %v, replay %+v; want event 7", sub.Reset, sub.Replay)
	}
	if err := l.Append([]events.Event{ev(9)}); err != nil {
		t.Fatal(err)
	}
	if got := <-sub.Events(); got.ID != 9 {
		t.Fatalf("live event id %d, want 9", got.ID)
	}
}
