package ewsexchange_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/store/memstore"
)

// MailboxTimeZones answers in request order, with an address that is no
// mailbox as an error of its own between two zones. Working hours name no
// place, only offsets and rules: Tokyo's are matched to the first zone
// with the same offsets all year (Asia/Seoul); the reconciliation's
// OWA.UserOptions names the place.
func TestMailboxTimeZonesInOneRequest(t *testing.T) {
	sim, ex := newHTTPSim(t, 2, 1)
	mbs := users(sim)
	for m, zone := range map[string]string{mbs[0]: "America/New_York", mbs[1]: "Asia/Tokyo"} {
		if _, err := sim.SetTimeZone(m, zone); err != nil {
			t.Fatal(err)
		}
	}
	before := sim.Stats().Requests["GetUserAvailabilityRequest"]
	got, err := ex.MailboxTimeZones(context.Background(), []string{mbs[0], "ghost@example.com", mbs[1]})
	if err != nil {
		t.Fatal(err)
	}
	if n := sim.Stats().Requests["GetUserAvailabilityRequest"] - before; n != 1 {
		t.Errorf("%d GetUserAvailability requests, want 1", n)
	}
	var xe *engine.ExchangeError
	if len(got) != 3 || got[0].Zone != "America/New_York" || got[0].Err != nil ||
		!errors.As(got[1].Err, &xe) || xe.Code != "ErrorMailRecipientNotFound" || got[1].Zone != "" ||
		got[2].Zone == "" || offset(t, got[2].Zone) != 9*3600 || got[2].Err != nil {
		t.Errorf("MailboxTimeZones = %+v; want New York, ErrorMailRecipientNotFound, a zone at UTC+9", got)
	}
}

// An error of the whole request (here the server busy) is the call's
// error, with its code, so that the engine's batcher decides on it.
func TestMailboxTimeZonesWholeRequestError(t *testing.T) {
	sim, ex := newHTTPSim(t, 3, 1)
	if _, err := sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultServerBusy, Percent: 100}); err != nil {
		t.Fatal(err)
	}
	got, err := ex.MailboxTimeZones(context.Background(), users(sim))
	var xe *engine.ExchangeError
	if !errors.As(err, &xe) || xe.Code != "ErrorServerBusy" || got != nil {
		t.Errorf("MailboxTimeZones with the server busy = %+v, %v; want ErrorServerBusy for the call", got, err)
	}
}

// offset is zone's offset from UTC now, in seconds.
func offset(t *testing.T, zone string) int {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	_, off := time.Now().In(loc).Zone()
	return off
}

// 250 mailboxes of the simulator over HTTP, ten of them in New York,
// served by an instance whose default zone is Europe/Berlin: the first load
// reads no OWA.UserOptions, asks the zones with GetUserAvailability (three
// requests when the start fills each batch; never more than 100 mailboxes
// in one, which the simulator would refuse), and every mailbox's status
// names a zone with its own offsets, New York's for the New Yorkers.
func TestFirstLoadZonesFromTheSimulatorInBatches(t *testing.T) {
	sim, ex := newHTTPSim(t, 250, 2)
	mbs := users(sim)
	for _, m := range mbs[:10] {
		if _, err := sim.SetTimeZone(m, "America/New_York"); err != nil {
			t.Fatal(err)
		}
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	r := startEngine(t, ex, memstore.New(), engine.Pull, mbs, func(o *engine.Options) {
		o.PullInterval = time.Hour
		o.DiscoverBatchDelay = 50 * time.Millisecond
		o.Window = engine.WindowConfig{DaysBefore: 1, DaysAfter: 14, DefaultTimeZone: berlin}
	})
	waitAllLive(t, r.e, len(mbs), 60*time.Second)
	req := sim.Stats().Requests
	if n := req["GetUserConfiguration"]; n != 0 {
		t.Errorf("%d GetUserConfiguration at the first load, want 0", n)
	}
	// The engine's own tests prove exactly ceil(n/100) on the injected
	// clock; here a slow start may split a batch.
	if n := req["GetUserAvailabilityRequest"]; n < 3 || n > 10 {
		t.Errorf("%d GetUserAvailability for %d mailboxes, want 3 (a few more on a slow start)", n, len(mbs))
	}
	t.Logf("GetUserAvailability requests: %d for %d mailboxes", req["GetUserAvailabilityRequest"], len(mbs))
	now := time.Now()
	for i, m := range mbs {
		s, _ := r.e.Status(m)
		if i < 10 && s.TimeZone != "America/New_York" {
			t.Errorf("%s: zone %q, want America/New_York", m, s.TimeZone)
			continue
		}
		_, own, err := sim.TimeZone(m)
		if err != nil {
			t.Fatal(err)
		}
		learnt, err := time.LoadLocation(s.TimeZone)
		if err != nil || s.TimeZone == "" {
			t.Errorf("%s: zone %q learnt: %v", m, s.TimeZone, err)
			continue
		}
		for _, at := range []time.Time{now, now.AddDate(0, 6, 0)} {
			_, a := at.In(own).Zone()
			_, b := at.In(learnt).Zone()
			if a != b {
				t.Errorf("%s: zone %s learnt, offset %d at %s; its own zone %s has %d", m, s.TimeZone, b, at, own, a)
			}
		}
	}
}
