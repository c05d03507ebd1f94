package ewsexchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/internal/clock"
)

// The simulator keeps each generated mailbox's zone in OWA.UserOptions;
// a mailbox without one has no OWA.UserOptions, and the zone comes from
// its working hours (UTC there).
func TestMailboxTimeZone(t *testing.T) {
	sim, ex := newHTTPSim(t, 2, 1)
	smtp := users(sim)[0]
	_, loc, err := sim.TimeZone(smtp)
	if err != nil {
		t.Fatal(err)
	}
	zone, err := ex.MailboxTimeZone(context.Background(), engine.Target{SMTP: smtp})
	if err != nil || zone != loc.String() {
		t.Errorf("MailboxTimeZone(%s) = %q, %v; want %s from OWA.UserOptions", smtp, zone, err, loc)
	}
	fresh, err := sim.AddMailbox("fresh@example.com", "Fresh User")
	if err != nil {
		t.Fatal(err)
	}
	zone, err = ex.MailboxTimeZone(context.Background(), engine.Target{SMTP: fresh})
	if err != nil || zone != "UTC" {
		t.Errorf("MailboxTimeZone(%s) = %q, %v; want UTC from the working hours", fresh, zone, err)
	}
}

// The working hours' window and the year their rules are matched for come
// from the engine's clock, on either side of New Year. Caracas kept
// UTC−4:30 from 2007 to 2016: asked for a window in 2010/2011 the server
// answers those rules, which match America/Caracas for those years (asked
// at the wall clock's time it answers today's UTC−4, another zone).
func TestWorkingHoursZoneFollowsTheEngineClock(t *testing.T) {
	sim, ex := newHTTPSim(t, 1, 1)
	m := users(sim)[0]
	if _, err := sim.SetTimeZone(m, "America/Caracas"); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{
		time.Date(2010, 12, 31, 23, 30, 0, 0, time.UTC),
		time.Date(2011, 1, 1, 0, 30, 0, 0, time.UTC),
	} {
		ex.UseClock(clock.NewFake(at))
		got, err := ex.MailboxTimeZones(context.Background(), []string{m})
		if err != nil || len(got) != 1 || got[0].Zone != "America/Caracas" {
			t.Errorf("at %s: MailboxTimeZones = %+v, %v; want America/Caracas", at, got, err)
		}
	}
}
