package check

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// IDAutomaticReplies is the mail-tips check: automatic replies raise no
// notification, so calsync polls their mail tips (GetMailTips, as many
// mailboxes per request as the server allows). What that costs depends on
// the server's limit, which only the server can say.
const IDAutomaticReplies = "automatic_replies"

// checkAutomaticReplies reads the server's mail-tips configuration
// (GetServiceConfiguration), asks for one batch of tips as the first good
// user, and reports the polling cost for the configured users.
func (r *runner) checkAutomaticReplies(ctx context.Context) Result {
	call, ok := r.goodCall()
	if !ok {
		return Result{Status: StatusSkip, Summary: "skipped: no user passed the impersonation check"}
	}
	users := len(r.opts.Users)
	interval := r.opts.Exchange.Notifications.OOFPollInterval
	fallback := fmt.Sprintf("automatic replies are then re-read every notifications.oof_interval, one GetUserOofSettings per mailbox (%s at 15m for %d %s)",
		perSecond(float64(users)/(15*time.Minute).Seconds()), users, plural(users, "user", "users"))
	cfg, err := r.client.GetMailTipsConfiguration(ctx, ewsclient.Call{})
	if err != nil {
		return Result{Status: StatusWarn, Summary: "the server does not report its mail-tips configuration: " + redactError(err),
			Fix: []string{"calsync polls GetMailTips with 50 mailboxes per request; if the server refuses that, " + fallback}}
	}
	if !cfg.Enabled {
		return Result{Status: StatusWarn, Summary: "mail tips are disabled on this server, so calsync cannot poll automatic replies with GetMailTips",
			Fix: []string{"enable MailTips (Set-OrganizationConfig -MailTipsAllTipsEnabled $true), or accept that " + fallback}}
	}
	limit := max(cfg.MaxRecipientsPerRequest, 1)
	batch := make([]string, 0, min(limit, users))
	for _, u := range r.opts.Users[:min(limit, users)] {
		batch = append(batch, u.SMTP)
	}
	tips, err := r.client.GetMailTipsOOF(ctx, call, r.good, batch, limit)
	if err != nil {
		return Result{Status: StatusWarn, Summary: "GetMailTips as " + r.good + " failed: " + redactError(err),
			Fix: []string{"calsync stops polling when the server refuses GetMailTips; " + fallback}}
	}
	on := 0
	for _, t := range tips {
		if t.Err == nil && t.On {
			on++
		}
	}
	res := Result{Status: StatusOK, Facts: map[string]string{
		"max_recipients_per_request": strconv.Itoa(cfg.MaxRecipientsPerRequest), "tips_read": strconv.Itoa(len(tips)),
		"automatic_replies_on": strconv.Itoa(on),
	}}
	if cfg.MaxRecipientsPerRequest <= 0 {
		res.Details = append(res.Details, fmt.Sprintf("the server reports MaxRecipientsPerGetMailTipsRequest %d; calsync uses %d", cfg.MaxRecipientsPerRequest, ews.DefaultMaxMailTipsRecipients))
	}
	shown := interval
	if shown <= 0 {
		shown = time.Minute
	}
	round := engine.PlanOOFRound(users, limit, shown)
	res.Facts["requests_per_round"] = strconv.Itoa(round.Requests)
	res.Facts["requests_per_second"] = fmt.Sprintf("%.2f", round.RequestsPerSecond())
	cost := fmt.Sprintf("%d %s per request: %d %s every %s, %s GetMailTips (a change shows within %s)",
		limit, plural(limit, "mailbox", "mailboxes"), users, plural(users, "user", "users"), shown, perSecond(round.RequestsPerSecond()), shown)
	if interval <= 0 {
		res.Summary = fmt.Sprintf("mail tips answer (%d of %d on); polling is off (notifications.oof_poll_interval 0); at 60s it would be %s", on, len(tips), cost)
		return res
	}
	res.Summary = fmt.Sprintf("mail tips answer (%d of %d on); %s", on, len(tips), cost)
	res.Details = append(res.Details, "a longer notifications.oof_poll_interval lowers the rate and delays the change in proportion")
	return res
}

// perSecond renders a request rate.
func perSecond(v float64) string {
	return strconv.FormatFloat(v, 'f', 2, 64) + " requests/s"
}
