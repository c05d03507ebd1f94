package check_test

import (
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/check"
	"github.com/calsync/calsync/internal/check/checktest"
)

// The automatic-replies check reads the server's limit (the simulator
// reports 50), asks for one batch of tips as an impersonated user, and
// states what polling costs for the configured users and interval.
func TestAutomaticRepliesCheckReportsTheServersLimitAndTheCost(t *testing.T) {
	env := checktest.New(t, 120, nil)
	if err := env.Sim.SetOOF(env.Users[1], ews.OofSettings{State: ews.OofEnabled, ExternalAudience: ews.AudienceAll, InternalReply: "Away"}); err != nil {
		t.Fatal(err)
	}
	o := env.Options("secret")
	o.Exchange.Notifications.OOFPollInterval = time.Minute
	rep := run(t, o)
	res := result(t, rep, check.IDAutomaticReplies)
	if res.Status != check.StatusOK {
		t.Fatalf("automatic replies = %s: %s", res.Status, res.Summary)
	}
	want := map[string]string{"max_recipients_per_request": "50", "tips_read": "50", "automatic_replies_on": "1", "requests_per_round": "3", "requests_per_second": "0.05"}
	for k, v := range want {
		if res.Facts[k] != v {
			t.Errorf("fact %s = %q, want %q (facts %v)", k, res.Facts[k], v, res.Facts)
		}
	}
	if want := "50 mailboxes per request: 120 users every 1m0s, 0.05 requests/s GetMailTips (a change shows within 1m0s)"; !strings.Contains(res.Summary, want) {
		t.Errorf("summary = %q, want it to contain %q", res.Summary, want)
	}

	o.Exchange.Notifications.OOFPollInterval = 0
	res = result(t, run(t, o), check.IDAutomaticReplies)
	if !strings.Contains(res.Summary, "polling is off (notifications.oof_poll_interval 0)") {
		t.Errorf("summary with polling off = %q", res.Summary)
	}
}
