package ewsexchange_test

import (
	"context"
	"errors"
	"testing"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
)

// A batch of mail tips is sent as its first mailbox. When that mailbox is
// gone from the on-premises servers (here moved to Exchange Online; a
// deleted one answers the same ErrorNonExistentMailbox), the batch is sent
// again as the next member: the gone mailboxes get the refusal as their own
// tip error, everyone else's tip arrives.
func TestOOFTipsSurviveAGoneFirstMailbox(t *testing.T) {
	sim, ex := newHTTPSim(t, 5, 1)
	mbs := users(sim)
	if err := sim.PlaceInCloud(mbs[0], mbs[1]); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetOOF(mbs[3], ews.OofSettings{State: ews.OofEnabled, InternalReply: "Away", ExternalAudience: ews.AudienceAll}); err != nil {
		t.Fatal(err)
	}
	before := sim.Stats().Requests["GetMailTips"]
	tips, err := ex.OOFTips(context.Background(), mbs)
	if err != nil {
		t.Fatalf("OOFTips = %v, want the batch to survive its gone first mailboxes", err)
	}
	if len(tips) != len(mbs) {
		t.Fatalf("%d tips for %d mailboxes: %+v", len(tips), len(mbs), tips)
	}
	for i, tip := range tips {
		var xe *engine.ExchangeError
		gone := i < 2
		switch {
		case tip.SMTP != mbs[i]:
			t.Errorf("tip %d is for %s, want %s (request order)", i, tip.SMTP, mbs[i])
		case gone && (!errors.As(tip.Err, &xe) || xe.Code != "ErrorNonExistentMailbox"):
			t.Errorf("tip of the moved %s: error %v, want ErrorNonExistentMailbox as its own", tip.SMTP, tip.Err)
		case !gone && tip.Err != nil:
			t.Errorf("tip of %s: error %v, want none", tip.SMTP, tip.Err)
		case !gone && (tip.Fingerprint != "") != (i == 3):
			t.Errorf("tip of %s: fingerprint %q; want replies on only for %s", tip.SMTP, tip.Fingerprint, mbs[3])
		}
	}
	if n := sim.Stats().Requests["GetMailTips"] - before; n != 3 {
		t.Errorf("%d GetMailTips requests, want 3 (as each moved mailbox, then as the next)", n)
	}
}
