package ewsexchange_test

import (
	"context"
	"testing"

	"github.com/calsync/calsync/engine"
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
