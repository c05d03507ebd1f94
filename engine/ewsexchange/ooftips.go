package ewsexchange

import (
	"context"
	"strings"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

var _ engine.OOFTipReader = (*Client)(nil)

// OOFTipLimit implements engine.OOFTipReader: the server's
// MaxRecipientsPerGetMailTipsRequest (GetServiceConfiguration), or
// ews.DefaultMaxMailTipsRecipients when it does not say.
func (x *Client) OOFTipLimit(ctx context.Context) int {
	cfg, err := x.c.GetMailTipsConfiguration(ctx, ewsclient.Call{}) // as the service account
	if err != nil || cfg.MaxRecipientsPerRequest <= 0 {
		return ews.DefaultMaxMailTipsRecipients
	}
	return cfg.MaxRecipientsPerRequest
}

// OOFTips implements engine.OOFTipReader with one GetMailTips request,
// impersonating the first mailbox of the batch and asking as it (an
// internal sender, so the internal reply is what the tip shows).
func (x *Client) OOFTips(ctx context.Context, smtps []string) ([]engine.OOFTip, error) {
	if len(smtps) == 0 {
		return nil, nil
	}
	tips, err := x.c.GetMailTipsOOF(ctx, x.call(engine.Target{SMTP: smtps[0]}), smtps[0], smtps, len(smtps))
	if err != nil {
		return nil, classify("GetMailTips", err)
	}
	out := make([]engine.OOFTip, len(tips))
	for i, t := range tips {
		out[i] = engine.OOFTip{SMTP: smtps[i], Fingerprint: fingerprint(t)}
		if t.Err != nil {
			out[i].Err = classify("GetMailTips", t.Err)
		}
	}
	return out, nil
}

// fingerprint condenses a tip: empty while replies are off, else the
// message and the schedule, so that any change to them shows.
func fingerprint(t ews.OutOfOfficeTip) string {
	if !t.On {
		return ""
	}
	var b strings.Builder
	b.WriteString("on|")
	if !t.Start.IsZero() {
		b.WriteString(t.Start.UTC().Format(time.RFC3339))
		b.WriteString("|")
		b.WriteString(t.End.UTC().Format(time.RFC3339))
	}
	b.WriteString("|")
	b.WriteString(t.Message)
	return b.String()
}
