package app

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store/boltstore"
	"github.com/calsync/calsync/webhook"
)

// TestBoltPublishesAndSavesPresenceTogether: with the bolt store the
// scheduler's publication goes through InTx — the webhook the event log's
// dispatcher enqueues and the saved presence commit together, and when
// the save fails neither is stored (the scheduler publishes again later).
// Before, bolt published, then saved: a failed save or a restart in
// between left the webhook without its presence.
func TestBoltPublishesAndSavesPresenceTogether(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "calsync.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := webhook.New(webhook.Options{Outbox: st, Endpoints: []webhook.Endpoint{{Name: "uc", URL: "http://127.0.0.1:1/hook", Secret: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	log, err := events.NewLog(events.Options{Sinks: []events.Sink{d}})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	a := &App{store: st, events: log, dispatcher: d}
	publish := a.presencePublishSaving()
	if publish == nil {
		t.Fatal("no PublishSaving for the bolt store: it publishes and saves separately")
	}
	user := "alice@example.com"
	change := presence.Change{User: user, Current: presence.Presence{User: user, Availability: presence.Available}, At: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	stored := func() (pending int, saved bool) {
		t.Helper()
		stats, err := st.OutboxStats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		docs, err := st.LoadPresence(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		_, saved = docs[user]
		return stats["uc"].Pending, saved
	}

	// An empty address makes SavePresences fail after the enqueue.
	if err := publish([]presence.Change{change}, map[string][]byte{user: []byte(`{}`), "": []byte(`{}`)}); err == nil {
		t.Fatal("publication with a failing save = nil, want its error")
	}
	if n, saved := stored(); n != 0 || saved {
		t.Errorf("after a failed save: %d webhooks pending, presence saved %v; want neither", n, saved)
	}
	if err := publish([]presence.Change{change}, map[string][]byte{user: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if n, saved := stored(); n != 1 || !saved {
		t.Errorf("after the publication: %d webhooks pending, presence saved %v; want 1 and true", n, saved)
	}
}
