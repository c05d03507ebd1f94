package ewsexchange_test

import (
	"context"
	"testing"

	"github.com/calsync/calsync/engine"
)

// Against the simulator, which keeps no OWA.UserOptions, the zone comes
// from the mailbox's working hours (UTC there).
func TestMailboxTimeZoneFallsBackToWorkingHours(t *testing.T) {
	sim, ex := newHTTPSim(t, 2, 1)
	smtp := users(sim)[0]
	zone, err := ex.MailboxTimeZone(context.Background(), engine.Target{SMTP: smtp})
	if err != nil || zone != "UTC" {
		t.Fatalf("MailboxTimeZone(%s) = %q, %v; want UTC from the working hours", smtp, zone, err)
	}
}
