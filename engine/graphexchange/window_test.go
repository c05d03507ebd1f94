package graphexchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/graphexchange/graphtest"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// The engine's window runs from local midnight to local midnight in the
// mailbox's zone; the delta chain's window is in whole UTC days. East of
// UTC the engine's last day ends up to 14 hours after the UTC day, so the
// chain must reach past it: a meeting created there (here 10 hours after
// the end of the 15th UTC day, inside a Tokyo user's window) is a change
// the next delta round reports.
func TestDeltaCoversTheWindowInEveryZone(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: 1, Seed: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.PlaceInCloud(sim.Mailboxes()...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	x := graphtest.Graph(t, sim) // the default window: 1 day before, 14 after
	m := graphtest.Users(sim)[0]
	ctx := context.Background()
	target := engine.Target{SMTP: m}
	sub, err := x.Subscribe(ctx, target, engine.SubscribeRequest{Mode: engine.Pull})
	if err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	now := time.Now().UTC()
	utcEnd := time.Date(now.Year(), now.Month(), now.Day()+15, 0, 0, 0, 0, time.UTC)
	if _, err := sim.AddCalendarItem(m, ews.CalendarItem{Subject: "late on the last local day", Start: utcEnd.Add(10 * time.Hour),
		End: utcEnd.Add(11 * time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
		t.Fatal(err)
	}
	b, err := x.GetEvents(ctx, target, sub.ID, sub.Watermark)
	if err != nil {
		t.Fatalf("GetEvents = %v", err)
	}
	if len(b.Events) == 0 {
		t.Errorf("a meeting created %s (inside the window of a mailbox east of UTC) is not reported", utcEnd.Add(10*time.Hour).Format(time.RFC3339))
	}
}
