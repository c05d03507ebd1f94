package ewsexchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// A client that cancels a meeting by setting the MAPI property
// PidLidAppointmentStateFlags (as Outlook-era tools do) instead of
// IsCancelled: Exchange shows the meeting cancelled in both views, and
// calsync, reading the first-class properties, stores it cancelled.
func TestMeetingCancelledThroughExtendedProperty(t *testing.T) {
	sim, raw, ex := newHTTPSimClient(t, 1, 1)
	mbs := users(sim)
	st := memstore.New()
	r := startEngine(t, ex, st, engine.Streaming, mbs, nil)
	waitAllLive(t, r.e, len(mbs), 30*time.Second)
	now := time.Now().UTC().Truncate(time.Hour)
	id, err := sim.AddCalendarItem(mbs[0], ews.CalendarItem{Subject: "to be cancelled", IsMeeting: true, Start: now.Add(2 * time.Hour), End: now.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	waitConverged(t, sim, st, mbs, 10*time.Second)

	ctx := context.Background()
	call := ewsclient.Call{ActAs: ews.ImpersonateSMTP(mbs[0])}
	res, err := raw.UpdateItem(ctx, call, ewsclient.UpdateItemRequest{Updates: []ewsclient.ItemUpdate{{Item: ews.ItemByID(id),
		Changes: []ewsclient.FieldChange{ewsclient.SetExtendedProperty(ews.ExtendedProperty{Field: ews.PidLidAppointmentStateFlags, Value: "7"})}}}})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("UpdateItem(PidLidAppointmentStateFlags = meeting|received|cancelled) = %+v, %v", res, err)
	}
	testenv.WaitFor(t, "calsync to store the meeting as cancelled", func() bool {
		occs, err := st.Occurrences(ctx, mbs[0], now, now.Add(4*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range occs {
			if o.Subject == "to be cancelled" {
				return o.Cancelled && o.IsMeeting
			}
		}
		return false
	})
	waitConverged(t, sim, st, mbs, 10*time.Second)
}
