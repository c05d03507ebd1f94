package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/store"
)

// TestInTxWritesThePublicationAndThePresenceTogether: a webhook enqueued,
// an event appended and a presence saved inside one InTx become durable
// together, or, when its function fails, none of them does — the presence
// scheduler's publication (app presencePublishSaving) relies on it.
func TestInTxWritesThePublicationAndThePresenceTogether(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	write := func(ctx context.Context, user string) error {
		if _, err := s.Enqueue(ctx, []store.OutboxMessage{{Endpoint: "uc", Key: user, EventType: "presence.changed",
			Payload: []byte(`{}`), CreatedAt: now, NextAttempt: now}}); err != nil {
			return err
		}
		ev, err := events.NewEvent(events.PresenceChanged, user, map[string]string{"availability": "available"})
		if err != nil {
			return err
		}
		if err := s.EventSink().Publish(ctx, []events.Event{ev}); err != nil {
			return err
		}
		return s.SavePresences(ctx, map[string][]byte{user: []byte(`{"availability":"available"}`)})
	}
	stored := func(user string) (outbox int, presence bool) {
		due, err := s.Due(ctx, "uc", now.Add(time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range due {
			if m.Key == user {
				outbox++
			}
		}
		docs, err := s.LoadPresence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, presence = docs[user]
		return outbox, presence
	}

	crash := errors.New("the instance died before its presence was saved")
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := write(ctx, "rolled@example.com"); err != nil {
			return err
		}
		return crash
	})
	if !errors.Is(err, crash) {
		t.Fatalf("InTx = %v, want its function's error", err)
	}
	if n, p := stored("rolled@example.com"); n != 0 || p {
		t.Errorf("after a failed InTx: %d outbox messages, presence stored %v; want neither", n, p)
	}

	if err := s.InTx(ctx, func(ctx context.Context) error { return write(ctx, "kept@example.com") }); err != nil {
		t.Fatal(err)
	}
	if n, p := stored("kept@example.com"); n != 1 || !p {
		t.Errorf("after InTx: %d outbox messages, presence stored %v; want 1 and true", n, p)
	}
}
